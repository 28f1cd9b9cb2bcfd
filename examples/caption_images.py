"""Caption image files with a saved `ImageCaptioner`.

    python examples/caption_images.py outputs/shapes/captioner.keras \\
        cat.jpg dog.png --strategy beam --beam-width 3

Loads a `.keras` file written by `ImageCaptioner.save` (for example by
`examples/train_shapes.py`), reads each image with Pillow
(`keras.utils.load_img`, converted to RGB) and prints one caption per file.

Image size: a model captions best at the size it was trained on. The size
the model was built with is stored in the `.keras` file
(`model.get_build_config()["input_shape"]["images"]`), and by default every
image is resized to it, so a photo of any size can be captioned by the
shapes model trained on 48x48 images. `--image-size` overrides it (one
number for a square, or `HEIGHT WIDTH`). Models that resize inside (those
built on a `keras.applications` backbone) accept any size, but images are
still resized to one size so that they can share a batch. When neither the
file nor the flag gives a size, each image is captioned at its own size,
one at a time.

Run `python examples/caption_images.py --help` for every option.
"""

import argparse
import os

import keras
import numpy as np

import keras_captioning  # noqa: F401 - registers the classes load_model needs


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Caption image files with a saved ImageCaptioner.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model", help="Path of the saved `.keras` model.")
    parser.add_argument(
        "images", nargs="+", help="Image files (JPEG, PNG, BMP, GIF, ...)."
    )
    parser.add_argument(
        "--strategy",
        choices=("greedy", "beam", "sample"),
        default="greedy",
    )
    parser.add_argument(
        "--beam-width",
        type=_positive_int,
        default=3,
        help="Beams kept with --strategy beam.",
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="Softmax temperature with --strategy sample.",
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="Seed of --strategy sample."
    )
    parser.add_argument(
        "--image-size",
        type=_positive_int,
        nargs="+",
        default=None,
        metavar="SIZE",
        help="Resize images to SIZE x SIZE, or to HEIGHT WIDTH. Defaults to "
        "the size the model was built with.",
    )
    parser.add_argument(
        "--max-length",
        type=_positive_int,
        default=None,
        help="Most words per caption; the model's own limit by default.",
    )
    args = parser.parse_args(argv)
    if args.image_size is not None and len(args.image_size) > 2:
        parser.error(
            "--image-size takes one number (a square) or two (height and "
            f"width). Received: {args.image_size}"
        )
    if args.temperature <= 0:
        parser.error(
            f"--temperature must be positive. Received: {args.temperature}"
        )
    for path in [args.model, *args.images]:
        if not os.path.isfile(path):
            parser.error(f"No such file: {path!r}")
    return args


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, received {text!r}"
        )
    return value


def model_image_size(captioner):
    """The `(height, width)` the model was built with, or `None`."""
    build_config = captioner.get_build_config() or {}
    shape = build_config.get("input_shape", {}).get("images")
    if shape is None or len(shape) != 4:
        return None
    height, width = shape[1], shape[2]
    if height is None or width is None:
        return None
    return int(height), int(width)


def load_image(path, size):
    """A uint8 `(height, width, 3)` array, resized when `size` is given."""
    target = None if size is None else tuple(size)
    # `load_img` wants (height, width) and resizes with Pillow's bilinear
    # filter, as the training pipelines do.
    image = keras.utils.load_img(
        path, color_mode="rgb", target_size=target, interpolation="bilinear"
    )
    return np.asarray(image, dtype="uint8")


def main(argv=None):
    args = parse_args(argv)
    captioner = keras.saving.load_model(args.model)
    if not isinstance(captioner, keras_captioning.models.ImageCaptioner):
        raise TypeError(
            f"{args.model!r} holds a {type(captioner).__name__}, not a "
            "keras_captioning.models.ImageCaptioner."
        )
    if captioner.encoder is None:
        raise ValueError(
            f"{args.model!r} was built with `encoder=None`: it reads "
            "precomputed features, not images, so it cannot caption files."
        )

    if args.image_size is not None:
        height, width = (args.image_size * 2)[:2]
        size = (height, width)
    else:
        size = model_image_size(captioner)
    print(
        f"Images resized to {size[0]}x{size[1]}."
        if size is not None
        else "The model does not fix an image size; each image is "
        "captioned at its own size."
    )

    options = {"strategy": args.strategy, "max_length": args.max_length}
    if args.strategy == "beam":
        options["beam_width"] = args.beam_width
    elif args.strategy == "sample":
        options.update(temperature=args.temperature, seed=args.seed)

    images = [load_image(path, size) for path in args.images]
    if size is not None:
        captions = captioner.caption(np.stack(images), **options)
    else:
        captions = [
            captioner.caption(image[None], **options)[0] for image in images
        ]
    for path, caption in zip(args.images, captions):
        print(f"{path}: {caption}")
    return captions


if __name__ == "__main__":
    main()
