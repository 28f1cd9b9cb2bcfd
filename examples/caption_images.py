"""Caption image files with a saved `ImageCaptioner`.

    python examples/caption_images.py outputs/shapes/captioner.keras \\
        cat.jpg dog.png --strategy beam --beam-width 3

Loads a `.keras` file written by `ImageCaptioner.save` (for example by
`examples/train_shapes.py`), reads each image with
`keras_captioning.data.read_image`, resizes it to the size the model was
built with (so a photo of any size can be captioned by the shapes model
trained on 48x48 images) and prints one caption per file. A file that
cannot be read is reported on stderr and the others are still captioned.

The installed command does the same with more options (JSON and TSV
output, folders, progress bars): `keras-captioning caption --help`.
"""

import argparse
import sys

import numpy as np

from keras_captioning.cli import _common


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Caption image files with a saved ImageCaptioner."
    )
    parser.add_argument("model", help="Path of the saved `.keras` model.")
    parser.add_argument("images", nargs="+", help="Image files.")
    parser.add_argument(
        "--strategy", choices=("greedy", "beam"), default="greedy"
    )
    parser.add_argument("--beam-width", type=_common.positive_int, default=3)
    args = parser.parse_args(argv)

    captioner = _common.load_captioner(args.model)
    size = _common.model_image_size(captioner)
    print(f"Images resized to {size[0]}x{size[1]}." if size else "")

    paths, images = [], []
    for path in args.images:
        try:
            images.append(_common.read_image(path, size))
            paths.append(path)
        except ValueError as error:  # one line naming the file
            print(error, file=sys.stderr)

    if not images:
        return []
    options = {"strategy": args.strategy}
    if args.strategy == "beam":
        options["beam_width"] = args.beam_width
    if size is not None:
        captions = captioner.caption(np.stack(images), **options)
    else:  # images of different sizes: one at a time
        captions = [captioner.caption(i[None], **options)[0] for i in images]
    for path, caption in zip(paths, captions):
        print(f"{path}: {caption}")
    return captions


if __name__ == "__main__":
    main()
