"""`keras-captioning evaluate`: score a saved model on a split."""

import json
import sys

from keras_captioning.cli import _common

NAME = "evaluate"
HELP = (
    "Caption one split of a Karpathy split file or of any caption file "
    "(--captions) and score the captions (BLEU-1..4, ROUGE-L, CIDEr-D, "
    "optionally METEOR)."
)
DESCRIPTION = (
    HELP + " Like `caption`, a listed image that is missing or cannot be "
    "read is skipped: one line on stderr says how many and names the first "
    "few, the other images are scored and the exit code is 1 (0 with "
    "--skip-missing)."
)
OPTIONS = {
    "--split": dict(
        choices=("train", "validation", "test"),
        default="test",
        help="The split to caption and score.",
    ),
    "--max-images": dict(
        type=_common.positive_int,
        help="Score only the first images of the split (default: all).",
    ),
    "--meteor": dict(action="store_true", help=_common.METEOR_HELP),
    "--format": dict(
        choices=("text", "json"),
        default="text",
        help="text: one `metric value` line each; json: an object.",
    ),
}


def configure(parser):
    _common.data_arguments(
        parser,
        captions_help="A file without a split is scored whole.",
        skip_missing_help="Skipped images are expected: exit with 0 rather "
        "than 1 when some listed images are missing or not readable (they "
        "are skipped and counted either way; default: off).",
    )
    _common.add_options(parser, OPTIONS)
    _common.generation_arguments(parser, default_strategy="beam")
    _common.add_options(parser, _common.IMAGE_OPTIONS)


def run(args):
    library = _common.import_library()
    captioner = _common.load_captioner(args.model, args)
    image_size = _common.requested_image_size(args, captioner)
    if image_size is None:
        raise _common.UsageError(
            "the model does not fix an image size; pass --image-size"
        )
    paths, references = _load(args)
    paths = paths[: args.max_images]
    references = references[: len(paths)]
    if not paths:
        raise _common.UsageError(
            f"the {args.split!r} split of "
            f"{args.karpathy_json or args.captions!r} is empty; choose "
            "another --split."
        )
    # Missing, empty and non-image files, found from their headers.
    total = len(paths)
    paths, references = _common.drop_bad_images(
        paths, references, True, args.split
    )
    unreadable = _common.DataError(
        f"none of the {total} {args.split} images can be read; check "
        "--image-dir."
    )
    if not paths:
        raise unreadable
    # A file whose header is sound but whose data is cut short fails only
    # when decoded: it is skipped too, and the scores left without it.
    images = library.data.ImageFiles(paths, image_size)
    try:
        scores, captions = library.metrics.evaluate_captioner(
            captioner,
            images,
            references,
            batch_size=args.batch_size,
            verbose=0 if args.quiet or not sys.stderr.isatty() else 1,
            include_meteor=args.meteor,
            return_captions=True,
            **_common.generation_options(args),
        )
    except ValueError as error:
        raise _common.DataError(error) from error
    if images.failed:
        keep = [i for i, path in enumerate(paths) if path not in images.failed]
        if not keep:
            raise unreadable
        print(
            f"Skipped {len(images.failed)} of {len(paths)} {args.split} "
            "images that could not be decoded: "
            f"{_common.some_of([repr(path) for path in images.failed])}.",
            file=sys.stderr,
        )
        paths = [paths[i] for i in keep]
        scores = library.metrics.evaluate_captions(
            [references[i] for i in keep],
            [captions[i] for i in keep],
            include_meteor=args.meteor,
        )
    skipped = total - len(paths)
    if args.format == "json":
        json.dump(
            {"images": len(paths), "skipped": skipped, **scores},
            sys.stdout,
            indent=1,
        )
        sys.stdout.write("\n")
    else:
        for name, value in scores.items():
            print(f"{name} {value:.4f}")
    return 1 if skipped and not args.skip_missing else 0


def _load(args):
    """The images and references to score, files not yet checked."""
    if args.karpathy_json is not None:
        data = _common.load_captions(args, args.split)
    else:
        data = _common.load_captions(args, None)
        if args.split in data.available_splits:
            data = _common.load_captions(args, args.split)
            print(f"Scoring {data.describe()}", file=sys.stderr)
        else:
            print(
                f"{args.captions!r} has no {args.split!r} split: scoring all "
                f"its images. {data.describe()}",
                file=sys.stderr,
            )
    return data.image_paths, data.references
