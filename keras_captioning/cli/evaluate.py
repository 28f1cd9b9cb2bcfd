"""`keras-captioning evaluate`: score a saved model on a split."""

import json
import sys

import numpy as np

from keras_captioning.cli import _common

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

SKIP_MISSING_HELP = (
    "Skipped images are expected: exit with 0 rather than 1 when some "
    "listed images are missing or not readable (they are skipped and "
    "counted either way; default: off)."
)


def add_parser(subparsers):
    parser = _common.add_subcommand(
        subparsers, "evaluate", help=HELP, description=DESCRIPTION
    )
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
    # The shared help says the run stops; evaluate goes on (as `caption`).
    _common.captions_arguments(parser, skip_missing_help=SKIP_MISSING_HELP)
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
    # Missing, empty and non-image files, found from their headers.
    total = len(paths)
    paths, references = _common.drop_bad_images(
        paths, references, True, args.split
    )
    skipped = total - len(paths)
    if not paths:
        raise _common.DataError(
            f"none of the {total} {args.split} images can be read; check "
            "--image-dir."
        )
    # A file whose header is sound but whose data is cut short fails only
    # when decoded: it is skipped too, and the scores left without it.
    images = ImageFiles(paths, image_size)
    try:
        scores, captions = metrics.evaluate_captioner(
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
            raise _common.DataError(
                f"none of the {total} {args.split} images can be read; "
                "check --image-dir."
            )
        shown = ", ".join(
            repr(path) for path in list(images.failed)[: _common._BAD_SHOWN]
        )
        more = len(images.failed) - _common._BAD_SHOWN
        print(
            f"Skipped {len(images.failed)} of {len(paths)} {args.split} "
            f"images that could not be decoded: {shown}"
            + (f" and {more} more" if more > 0 else "")
            + ".",
            file=sys.stderr,
        )
        skipped += len(images.failed)
        paths = [paths[i] for i in keep]
        scores = metrics.evaluate_captions(
            [references[i] for i in keep],
            [captions[i] for i in keep],
            include_meteor=args.meteor,
        )
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


class ImageFiles:
    """Image files read on demand by `keras_captioning.data.read_image`,
    as the array-like of uint8 images `evaluate_captioner` slices batch by
    batch (a split of thousands of photos is never held at once). A file
    that fails to decode is recorded in `failed` and read as black; its
    caption is dropped from the scores."""

    def __init__(self, paths, image_size):
        self.paths, self.image_size, self.failed = list(paths), image_size, {}
        self._read = _common.import_library().data.read_image

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return np.stack([self[i] for i in range(len(self))[index]])
        try:
            return self._read(self.paths[index], self.image_size)
        except ValueError as error:  # `ImageFileError` is a ValueError.
            self.failed[self.paths[index]] = str(error)
            return np.zeros((*self.image_size, 3), "uint8")


def _load(args):
    """The images and references to score, files not yet checked."""
    if args.karpathy_json is not None:
        return _common.load_named_form(args, args.split)
    data = _common.load_captions(
        args.captions, args.image_dir, None, args.captions_format
    )
    if args.split in data.available_splits:
        data = _common.load_captions(
            args.captions, args.image_dir, args.split, args.captions_format
        )
        print(f"Scoring {data.describe()}", file=sys.stderr)
    else:
        print(
            f"{args.captions!r} has no {args.split!r} split: scoring all "
            f"its images. {data.describe()}",
            file=sys.stderr,
        )
    return data.image_paths, data.references
