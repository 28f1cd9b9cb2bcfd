"""`keras-captioning evaluate`: score a saved model on a Karpathy split."""

import json
import sys

from keras_captioning.cli import _common

HELP = (
    "Caption one split of a Karpathy split file or of any caption file "
    "(--captions) and score the captions (BLEU-1..4, ROUGE-L, CIDEr-D, "
    "optionally METEOR)."
)


def add_parser(subparsers):
    parser = _common.add_subcommand(subparsers, "evaluate", help=HELP)
    parser.add_argument("model", help="The saved `.keras` captioner.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--karpathy-json",
        help="dataset_flickr8k.json, dataset_flickr30k.json or "
        "dataset_coco.json.",
    )
    source.add_argument(
        "--captions",
        metavar="PATH",
        help="A caption file or folder in any form `train --captions` "
        "reads; a file without a split is scored whole.",
    )
    parser.add_argument(
        "--image-dir",
        default=None,
        help="Folder the images are read from (needed with "
        "--karpathy-json; with --captions the form's usual place when not "
        "given; default: none).",
    )
    _common.captions_arguments(parser)
    parser.add_argument(
        "--split",
        choices=("train", "validation", "test"),
        default="test",
        help="The split to caption and score.",
    )
    parser.add_argument(
        "--max-images",
        type=_common.positive_int,
        default=None,
        help="Score only the first images of the split (default: all).",
    )
    parser.add_argument(
        "--meteor",
        action="store_true",
        help="Also compute METEOR (needs pycocoevalcap and Java).",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: one `metric value` line each; json: an object.",
    )
    _common.generation_arguments(parser, default_strategy="beam")
    _common.image_size_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")
    parser.set_defaults(run=run)


def run(args):
    metrics = _common.import_library().metrics

    captioner = _common.load_captioner(args.model)
    _common.check_generation_options(
        captioner, _common.generation_options(args)
    )
    image_size = _common.requested_image_size(args, captioner)
    if image_size is None:
        raise _common.UsageError(
            "the model does not fix an image size; pass --image-size"
        )
    paths, references = _load(args)
    if args.max_images is not None:
        paths, references = (
            paths[: args.max_images],
            references[: args.max_images],
        )
    if not paths:
        raise _common.UsageError(
            f"the {args.split!r} split of "
            f"{args.karpathy_json or args.captions!r} is empty; choose "
            "another --split."
        )
    paths, references = _common.drop_bad_images(
        paths, references, args.skip_missing, args.split
    )
    try:
        scores = metrics.evaluate_captioner(
            captioner,
            _common.ImageFiles(paths, image_size),
            references,
            batch_size=args.batch_size,
            verbose=0 if args.quiet or not sys.stderr.isatty() else 1,
            include_meteor=args.meteor,
            **_common.generation_options(args),
        )
    except ValueError as error:  # An image file that cannot be read.
        raise _common.DataError(error) from error
    if args.format == "json":
        json.dump({"images": len(paths), **scores}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for name, value in scores.items():
            print(f"{name} {value:.4f}")
    return 0


def _load(args):
    """The images and references to score, files not yet checked."""
    if args.karpathy_json is not None:
        if args.image_dir is None:
            raise _common.UsageError(
                "--image-dir is needed with --karpathy-json."
            )
        karpathy = _common.import_library().datasets.karpathy
        return _common.load_split_files(
            karpathy.load_split,
            args.karpathy_json,
            args.image_dir,
            args.split,
            True,
            False,
            flags="--karpathy-json and --image-dir",
        )
    data = _common.load_captions(
        args.captions, args.image_dir, None, args.captions_format
    )
    if args.split in data.available_splits:
        data = _common.load_captions(
            args.captions, args.image_dir, args.split, args.captions_format
        )
    else:
        print(
            f"{args.captions!r} has no {args.split!r} split: scoring all "
            f"its images. {data.describe()}",
            file=sys.stderr,
        )
    return data.image_paths, data.references
