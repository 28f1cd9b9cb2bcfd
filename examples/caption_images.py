"""Caption image files with a saved `ImageCaptioner`.

    python examples/caption_images.py outputs/shapes/captioner.keras \\
        cat.jpg dog.png --strategy beam --beam-width 3

Loads a `.keras` file written by `ImageCaptioner.save` (for example by
`examples/train_shapes.py`), reads each image with
`keras_captioning.data.read_image`, resizes it to the size the model was
built with (`keras_captioning.data.resize_image`; so a photo of any size
can be captioned by the shapes model trained on 48x48 images) and prints
one caption per file.

Exit codes, as for `keras-captioning caption`: a file that cannot be read
is reported on one line of stderr naming it, the others are still
captioned and the exit code is 1; a model file that does not exist or
cannot be loaded is one line on stderr and exit code 2.

The installed command does the same with more options (JSON and TSV
output, folders, progress bars): `keras-captioning caption --help`.
"""

import argparse
import os
import sys

import keras
import numpy as np

import keras_captioning


def model_image_size(captioner):
    """The `(height, width)` the model reads, or `None` for any size."""
    preprocessing = captioner.preprocessing
    if preprocessing is not None and preprocessing.image_size is not None:
        return tuple(preprocessing.image_size)
    shape = (captioner.get_build_config() or {}).get("input_shape", {})
    shape = shape.get("images")
    if shape is None or len(shape) != 4 or None in tuple(shape[1:3]):
        return None
    return int(shape[1]), int(shape[2])


def read_images(paths, size):
    """`(paths, images)` of the files that could be read; each other file
    is reported on one line of stderr."""
    readable, images = [], []
    for path in paths:
        try:
            image = keras_captioning.data.read_image(path)
        except keras_captioning.data.ImageFileError as error:
            print(error, file=sys.stderr)  # one line naming the file
            continue
        if size is not None:
            image = keras_captioning.data.resize_image(image, size)
        readable.append(path)
        images.append(image)
    return readable, images


def main(argv=None):
    """Captions the images; returns the exit code (0, 1 or 2)."""
    parser = argparse.ArgumentParser(
        description="Caption image files with a saved ImageCaptioner.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model", help="Path of the saved `.keras` model.")
    parser.add_argument("images", nargs="+", help="Image files.")
    parser.add_argument(
        "--strategy",
        choices=("greedy", "beam"),
        default="greedy",
        help="Decoding strategy.",
    )
    parser.add_argument(
        "--beam-width",
        type=int,
        default=3,
        help="Beams kept with --strategy beam.",
    )
    args = parser.parse_args(argv)
    if args.beam_width < 1:
        parser.error(f"--beam-width must be >= 1. Received: {args.beam_width}")

    if not os.path.isfile(args.model):
        parser.exit(
            2, f"{parser.prog}: error: no such model file: {args.model!r}\n"
        )
    try:
        captioner = keras.saving.load_model(args.model)
    except Exception as error:  # Keras raises many types for bad files.
        reason = " ".join(str(error).split())[:300]
        parser.exit(
            2,
            f"{parser.prog}: error: cannot load the model file "
            f"{args.model!r}: {reason}\n",
        )
    size = model_image_size(captioner)
    print(f"Images resized to {size[0]}x{size[1]}." if size else "")

    paths, images = read_images(args.images, size)
    options = {"strategy": args.strategy}
    if args.strategy == "beam":
        options["beam_width"] = args.beam_width
    if not images:
        captions = []
    elif size is not None:
        captions = captioner.caption(np.stack(images), **options)
    else:  # images of different sizes: one at a time
        captions = [captioner.caption(i[None], **options)[0] for i in images]
    for path, caption in zip(paths, captions):
        print(f"{path}: {caption}")
    return 0 if len(paths) == len(args.images) else 1


if __name__ == "__main__":
    sys.exit(main())
