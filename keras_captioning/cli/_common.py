"""What the subcommands share: their parsers, loading a model, finding
and reading images, a progress bar on stderr.

Nothing here imports Keras or TensorFlow at module level: parsing the
command line (and `--help`) stays fast and quiet.
"""

import argparse
import os
import sys

from keras_captioning.cli._errors import ArgumentParser
from keras_captioning.cli._errors import DataError
from keras_captioning.cli._errors import UsageError
from keras_captioning.cli._errors import add_debug_argument
from keras_captioning.cli._errors import import_keras
from keras_captioning.cli._errors import one_line
from keras_captioning.cli._errors import run_subcommand

IMAGE_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".png",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
)


__all__ = [
    "ArgumentParser",
    "DataError",
    "UsageError",
    "add_debug_argument",
    "import_keras",
    "one_line",
    "run_subcommand",
]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default; an option whose default is `None`
    says in its help what happens when it is not given."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            "default" in text
            or action.default in (None, argparse.SUPPRESS)
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


def add_subcommand(subparsers, name, help, description=None):
    """A subcommand's parser: defaults shown in `--help`, and `--debug`."""
    parser = subparsers.add_parser(
        name,
        help=help,
        description=description or help,
        formatter_class=HelpFormatter,
    )
    add_debug_argument(parser)
    return parser


def positive_int(text):
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, received {text!r}"
        )
    return value


def image_size_argument(parser):
    parser.add_argument(
        "--image-size",
        type=positive_int,
        nargs="+",
        default=None,
        metavar="SIZE",
        help="Resize images to SIZE x SIZE, or to HEIGHT WIDTH (default: "
        "the size the model was built with).",
    )


def generation_arguments(parser, default_strategy="greedy", batch_size=True):
    parser.add_argument(
        "--strategy",
        choices=("greedy", "beam", "sample"),
        default=default_strategy,
        help="Decoding strategy.",
    )
    parser.add_argument(
        "--beam-width",
        type=positive_int,
        default=3,
        help="Beams kept with --strategy beam.",
    )
    parser.add_argument(
        "--max-length",
        type=positive_int,
        default=None,
        help="Most words per caption (default: the model's own limit).",
    )
    if batch_size:
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=32,
            help="Images per batch.",
        )
    control_arguments(parser)


def control_arguments(parser, sampling=True):
    """The decoding controls (docs/generation.rst), as flags."""
    group = parser.add_argument_group("decoding controls")
    group.add_argument(
        "--min-length",
        type=int,
        default=None,
        help="No caption ends before this many words (default: off).",
    )
    group.add_argument(
        "--no-repeat-ngram-size",
        type=int,
        default=None,
        help="No n-gram of this many words occurs twice in a caption "
        "(default: off).",
    )
    group.add_argument(
        "--repetition-penalty",
        type=float,
        default=None,
        help="Keskar et al.'s penalty (> 1) on the words already generated "
        "(default: off).",
    )
    group.add_argument(
        "--bad-words",
        nargs="+",
        default=None,
        metavar="WORD",
        help="Words never generated (quote a phrase: 'in the'; default: none).",
    )
    group.add_argument(
        "--bad-endings",
        nargs="*",
        default=None,
        metavar="WORD",
        help="Words a caption may not end on; the flag alone takes the "
        "default list (a, an, the, of, in, on, with, and, ...; default: "
        "off).",
    )
    if sampling:
        group.add_argument(
            "--top-p",
            type=float,
            default=None,
            help="--strategy sample: nucleus sampling within this mass "
            "(default: off).",
        )
    group.add_argument(
        "--num-beam-groups",
        type=positive_int,
        default=None,
        help="--strategy beam: diverse beam search with this many groups "
        "(must divide --beam-width; default: off).",
    )
    group.add_argument(
        "--diversity-penalty",
        type=float,
        default=None,
        help="--strategy beam: Hamming diversity between beam groups "
        "(default: off).",
    )


def control_options(args):
    """The decoding controls given on the command line, as keywords."""
    options = {
        name: getattr(args, name)
        for name in (
            "min_length",
            "no_repeat_ngram_size",
            "repetition_penalty",
            "bad_words",
            "top_p",
            "num_beam_groups",
            "diversity_penalty",
        )
        if getattr(args, name, None) is not None
    }
    if args.bad_endings is not None:
        options["bad_endings"] = args.bad_endings or True
    return options


def check_generation_options(captioner, options):
    """Raises `UsageError` (one line) unless the generation options suit
    the model: words in its vocabulary, options of the strategy, lengths."""
    from keras_captioning import generation

    options = dict(options)
    strategy = options.pop("strategy", "greedy")
    max_length = options.pop("max_length", None) or captioner.max_length
    try:
        generation.get_sampler(
            strategy,
            vocabulary=captioner.vocabulary,
            max_length=max_length,
            **options,
        )
    except (TypeError, ValueError) as error:
        raise UsageError(str(error)) from error


def generation_options(args):
    """`caption` keyword arguments from the generation options."""
    options = {"strategy": args.strategy, "max_length": args.max_length}
    if args.strategy == "beam":
        options["beam_width"] = args.beam_width
    options.update(control_options(args))
    return options


def import_library():
    """Imports the whole of `keras_captioning` (and so Keras), registering
    every Keras class of the library; returns the package."""
    import_keras()
    import keras_captioning

    for name in keras_captioning.__all__:
        getattr(keras_captioning, name)
    return keras_captioning


def check_model_file(path):
    """Raises `UsageError` unless `path` is an existing file."""
    if not os.path.isfile(path):
        raise UsageError(
            f"no such model file: {path!r}. Give the path of a .keras file "
            "written by ImageCaptioner.save or keras-captioning train."
        )


def load_captioner(path, need_images=True):
    """Loads an `ImageCaptioner` from a `.keras` file, or raises
    `UsageError` with one line saying why not."""
    check_model_file(path)
    keras = import_keras()

    # Every class of the library registered before the file is read.
    captioner_class = import_library().models.ImageCaptioner
    try:
        captioner = keras.saving.load_model(path)
    except Exception as error:  # Keras raises many types for bad files.
        reason = " ".join(str(error).split())[:300]
        raise UsageError(
            f"cannot load the model file {path!r} (is it a .keras file "
            f"written by ImageCaptioner.save?): {reason}"
        ) from error
    if not isinstance(captioner, captioner_class):
        raise UsageError(
            f"{path!r} holds a {type(captioner).__name__}, not a "
            "keras_captioning.models.ImageCaptioner."
        )
    if need_images and captioner.encoder is None:
        raise UsageError(
            f"{path!r} was built with `encoder=None`: it reads precomputed "
            "features, not images."
        )
    return captioner


def model_image_size(captioner):
    """The `(height, width)` images are read at, or `None` (any size)."""
    return captioner.preprocessor.target_size


def requested_image_size(args, captioner):
    if args.image_size is None:
        return model_image_size(captioner)
    if len(args.image_size) > 2:
        raise UsageError(
            "--image-size takes one number (a square) or two (height and "
            f"width). Received: {args.image_size}"
        )
    return tuple((args.image_size * 2)[:2])


def image_paths(inputs):
    """Files as given; a folder gives its image files, sorted by name."""
    paths = []
    for item in inputs:
        if os.path.isdir(item):
            paths += sorted(
                os.path.join(item, name)
                for name in os.listdir(item)
                if name.lower().endswith(IMAGE_EXTENSIONS)
                and os.path.isfile(os.path.join(item, name))
            )
        else:
            paths.append(item)
    return paths


# How many bad image files the one-line message names before "and N more".
_BAD_SHOWN = 3


def captions_arguments(parser, skip_missing_help=None):
    """`--captions`, `--captions-format` and `--skip-missing` (with
    `skip_missing_help` as its help, when given)."""
    parser.add_argument(
        "--captions-format",
        default="auto",
        help="The form of --captions: auto (detected from the file), "
        "karpathy, coco, flickr8k, flickr30k, csv, tsv, jsonl or "
        "imagefolder (default: auto).",
    )
    add_skip_missing_argument(parser, help=skip_missing_help)


def add_skip_missing_argument(parser, help=None):
    parser.add_argument(
        "--skip-missing",
        action="store_true",
        help=help
        or "Go on without the listed images that are missing or not "
        "readable images, saying how many were skipped (by default the "
        "run stops before it starts, naming them; default: off).",
    )


def load_captions(
    path, image_dir, split, captions_format, flags="--captions and --image-dir"
):
    """`datasets.load_captions` under the command's error policy: an error
    is a `UsageError` naming the command's `flags`. Images are checked
    afterwards by `drop_bad_images`."""
    datasets = import_library().datasets
    try:
        return datasets.load_captions(
            path,
            image_dir,
            split=split,
            format=captions_format,
            check_files=False,
        )
    except (OSError, ValueError, TypeError) as error:
        raise UsageError(f"{one_line(error)} (check {flags})") from error


def load_named_form(args, split):
    """One split of `--karpathy-json` or `--flickr8k-text-dir` (whichever
    is given) with `--image-dir`, through `load_captions`."""
    flag, form, path = (
        ("--karpathy-json", "karpathy", args.karpathy_json)
        if args.karpathy_json is not None
        else ("--flickr8k-text-dir", "flickr8k", args.flickr8k_text_dir)
    )
    if args.image_dir is None:
        raise UsageError(f"--image-dir is needed with {flag}.")
    return load_captions(
        path, args.image_dir, split, form, flags=f"{flag} and --image-dir"
    )


def drop_bad_images(paths, references, skip_missing, what):
    """The shared policy for missing or unreadable images.

    Finds them with `keras_captioning.data.find_bad_images`; without
    `--skip-missing` raises a `DataError` (one line: how many, the first
    few and why); with it returns the rest, printing how many it skipped.
    """
    folders = sorted({os.path.dirname(path) for path in paths})
    absent = [
        folder for folder in folders if folder and not os.path.isdir(folder)
    ]
    if absent and len(absent) == len(folders):
        raise UsageError(
            f"the image folder {absent[0]!r} does not exist (check --image-dir)"
        )
    bad = import_library().data.find_bad_images(paths)
    if not bad:
        return paths, references
    shown = ", ".join(
        f"{path!r} ({reason})"
        for path, reason in list(bad.items())[:_BAD_SHOWN]
    )
    more = len(bad) - _BAD_SHOWN
    summary = (
        f"{len(bad)} of {len(paths)} {what} images are missing or not "
        f"readable images: {shown}" + (f" and {more} more" if more > 0 else "")
    )
    if not skip_missing:
        raise DataError(
            f"{summary}. Fix or remove them, or pass --skip-missing to go on "
            "without them."
        )
    keep = [index for index, path in enumerate(paths) if path not in bad]
    print(f"Skipped {summary}.", file=sys.stderr)
    return [paths[i] for i in keep], [references[i] for i in keep]
