"""What the subcommands share: their option groups, loading a model,
finding images and caption files under the error policy.

Nothing here imports Keras or TensorFlow at module level: parsing the
command line (and `--help`) stays fast and quiet.
"""

import argparse
import os
import sys

# The error policy, for the subcommands.
from keras_captioning.cli._errors import ArgumentParser  # noqa: F401
from keras_captioning.cli._errors import DataError
from keras_captioning.cli._errors import UsageError
from keras_captioning.cli._errors import add_debug_argument
from keras_captioning.cli._errors import import_keras
from keras_captioning.cli._errors import one_line
from keras_captioning.cli._errors import run_subcommand  # noqa: F401

METEOR_HELP = "Also compute METEOR (needs pycocoevalcap and Java)."


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


def add_subcommand(subparsers, command):
    """A subcommand's parser from its module `command`: its `NAME`, `HELP`
    and `DESCRIPTION`, defaults shown in `--help`, `--debug`, the saved
    model as its first argument (unless `MODEL` is false), the options
    `command.configure(parser)` adds, and `command.run(args)` to run,
    after `command.check_args(parser, args)` where it has one."""
    parser = subparsers.add_parser(
        command.NAME,
        help=command.HELP,
        description=command.DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    add_debug_argument(parser)
    if getattr(command, "MODEL", True):
        parser.add_argument("model", help="The saved `.keras` captioner.")
    command.configure(parser)

    def run(args):
        if hasattr(command, "check_args"):
            command.check_args(parser, args)
        return command.run(args)

    parser.set_defaults(run=run)
    return parser


def add_options(parser, options):
    """Adds a table of options, `{flag: add_argument's keywords}`."""
    for flag, keywords in options.items():
        parser.add_argument(flag, **keywords)


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


# The options of `caption` and `evaluate` after the decoding options.
IMAGE_OPTIONS = {
    "--image-size": dict(
        type=positive_int,
        nargs="+",
        metavar="SIZE",
        help="Resize images to SIZE x SIZE, or to HEIGHT WIDTH (default: "
        "the size the model was built with).",
    ),
    "--quiet": dict(action="store_true", help="No progress bar."),
}


# The decoding controls (docs/generation.rst), read by
# `generation_options` under the names argparse gives them.
_CONTROLS = {
    "--min-length": dict(
        type=int,
        help="No caption ends before this many words (default: off).",
    ),
    "--no-repeat-ngram-size": dict(
        type=int,
        help="No n-gram of this many words occurs twice in a caption "
        "(default: off).",
    ),
    "--repetition-penalty": dict(
        type=float,
        help="Keskar et al.'s penalty (> 1) on the words already generated "
        "(default: off).",
    ),
    "--bad-words": dict(
        nargs="+",
        metavar="WORD",
        help="Words never generated (quote a phrase: 'in the'; default: none).",
    ),
    "--bad-endings": dict(
        nargs="*",
        metavar="WORD",
        help="Words a caption may not end on; the flag alone takes the "
        "default list (a, an, the, of, in, on, with, and, ...; default: "
        "off).",
    ),
    "--top-p": dict(
        type=float,
        help="--strategy sample: nucleus sampling within this mass "
        "(default: off).",
    ),
    "--num-beam-groups": dict(
        type=positive_int,
        help="--strategy beam: diverse beam search with this many groups "
        "(must divide --beam-width; default: off).",
    ),
    "--diversity-penalty": dict(
        type=float,
        help="--strategy beam: Hamming diversity between beam groups "
        "(default: off).",
    ),
}


# The decoding options besides --strategy, whose choices differ.
DECODING_OPTIONS = {
    "--beam-width": dict(
        type=positive_int, default=3, help="Beams kept with --strategy beam."
    ),
    "--max-length": dict(
        type=positive_int,
        help="Most words per caption (default: the model's own limit).",
    ),
    "--batch-size": dict(
        type=positive_int, default=32, help="Images per batch."
    ),
}


def generation_arguments(
    parser,
    strategies=("greedy", "beam", "sample"),
    default_strategy="greedy",
    strategy_help="Decoding strategy.",
    batch_size=True,
):
    """The decoding options of `caption`, `evaluate`, `serve` and `export`,
    read back by `generation_options`."""
    parser.add_argument(
        "--strategy",
        choices=strategies,
        default=default_strategy,
        help=strategy_help,
    )
    for flag, options in DECODING_OPTIONS.items():
        if flag != "--batch-size" or batch_size:
            parser.add_argument(flag, **options)
    group = parser.add_argument_group("decoding controls")
    for flag, options in _CONTROLS.items():
        if flag != "--top-p" or "sample" in strategies:
            group.add_argument(flag, **options)


def generation_options(args):
    """The generation keyword arguments the options give."""
    options = {"strategy": args.strategy, "max_length": args.max_length}
    if args.strategy == "beam":
        options["beam_width"] = args.beam_width
    for flag in _CONTROLS:
        name = flag[2:].replace("-", "_")
        if getattr(args, name, None) is not None:
            options[name] = getattr(args, name)
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


def load_captioner(path, args=None):
    """Loads an `ImageCaptioner` that reads images from a `.keras` file,
    or raises `UsageError` with one line saying why not. With `args`, the
    generation options are checked against it too."""
    check_model_file(path)
    keras = import_keras()
    # Every class of the library registered before the file is read.
    captioner_class = import_library().models.ImageCaptioner
    try:
        captioner = keras.saving.load_model(path)
    except Exception as error:  # Keras raises many types for bad files.
        raise UsageError(
            f"cannot load the model file {path!r} (is it a .keras file "
            f"written by ImageCaptioner.save?): {one_line(error)[:300]}"
        ) from error
    if not isinstance(captioner, captioner_class):
        raise UsageError(
            f"{path!r} holds a {type(captioner).__name__}, not a "
            "keras_captioning.models.ImageCaptioner."
        )
    if captioner.encoder is None:
        raise UsageError(
            f"{path!r} was built with `encoder=None`: it reads precomputed "
            "features, not images."
        )
    if args is not None:
        check_generation_options(captioner, generation_options(args))
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


def data_arguments(parser, captions_help, skip_missing_help, flickr8k=False):
    """The caption sources of `train` and `evaluate` (one of them
    required), `--image-dir`, `--captions-format` and `--skip-missing`."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--karpathy-json",
        help="A Karpathy split file: dataset_flickr8k.json, "
        "dataset_flickr30k.json or dataset_coco.json.",
    )
    if flickr8k:
        source.add_argument(
            "--flickr8k-text-dir",
            help="Folder holding Flickr8k.token.txt and the Flickr_8k.*.txt "
            "split files.",
        )
    source.add_argument(
        "--captions",
        metavar="PATH",
        help="A caption file or folder in any form "
        "keras_captioning.datasets.load_captions reads: COCO's "
        "captions_*.json, a Karpathy file, Flickr8k.token.txt, a CSV / TSV "
        "/ JSON Lines table (Kaggle's captions.txt), Flickr30k's "
        "results.csv or a Hugging Face imagefolder. " + captions_help,
    )
    parser.add_argument(
        "--image-dir",
        help="Folder the images are read from (for a Karpathy COCO file, "
        "the one holding train2014/ and val2014/). Needed with the other "
        "sources; with --captions the form's usual place when not given "
        "(default: none).",
    )
    parser.add_argument(
        "--captions-format",
        default="auto",
        help="The form of --captions: auto (detected from the file), "
        "karpathy, coco, flickr8k, flickr30k, csv, tsv, jsonl or "
        "imagefolder (default: auto).",
    )
    parser.add_argument(
        "--skip-missing", action="store_true", help=skip_missing_help
    )


def load_captions(args, split, flags="--captions and --image-dir", **kwargs):
    """`datasets.load_captions` of `--captions` (or `--karpathy-json` /
    `--flickr8k-text-dir`, whichever is given) under the command's error
    policy: an error is a `UsageError` naming `flags`. Images are checked
    afterwards by `drop_bad_images`."""
    path, form = args.captions, args.captions_format
    for flag, name in (
        ("--karpathy-json", "karpathy"),
        ("--flickr8k-text-dir", "flickr8k"),
    ):
        value = getattr(args, flag[2:].replace("-", "_"), None)
        if value is not None:
            if args.image_dir is None:
                raise UsageError(f"--image-dir is needed with {flag}.")
            path, form, flags = value, name, f"{flag} and --image-dir"
    datasets = import_library().datasets
    try:
        return datasets.load_captions(
            path,
            args.image_dir,
            split=split,
            format=form,
            check_files=False,
            **kwargs,
        )
    except (OSError, ValueError, TypeError) as error:
        raise UsageError(f"{one_line(error)} (check {flags})") from error


def some_of(texts, shown=3):
    """The first `shown` of `texts`, then how many more."""
    more = len(texts) - shown
    return ", ".join(texts[:shown]) + (f" and {more} more" if more > 0 else "")


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
    summary = (
        f"{len(bad)} of {len(paths)} {what} images are missing or not "
        "readable images: "
        + some_of([f"{path!r} ({reason})" for path, reason in bad.items()])
    )
    if not skip_missing:
        raise DataError(
            f"{summary}. Fix or remove them, or pass --skip-missing to go on "
            "without them."
        )
    print(f"Skipped {summary}.", file=sys.stderr)
    keep = [index for index, path in enumerate(paths) if path not in bad]
    return [paths[i] for i in keep], [references[i] for i in keep]
