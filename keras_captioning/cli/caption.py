"""`keras-captioning caption`: caption image files with a saved model."""

import contextlib
import csv
import json
import sys

import numpy as np

from keras_captioning.cli import _common

HELP = "Caption image files (or every image in a folder) with a .keras model."


def add_parser(subparsers):
    parser = _common.add_subcommand(
        subparsers,
        "caption",
        help=HELP,
        description=HELP + " One line per image on stdout; an image that "
        "cannot be read is reported on stderr, the others are captioned and "
        "the exit code is 1.",
    )
    parser.add_argument(
        "images", nargs="+", help="Image files, or folders of images."
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "tsv"),
        default="text",
        help="text: `path: caption` lines; tsv: path, caption and score "
        "columns with a header; json: a list of {image, caption, score} "
        "(or {image, error}).",
    )
    _common.generation_arguments(parser)
    _common.image_size_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="No progress bar.")
    parser.set_defaults(run=run)


def caption_files(captioner, paths, image_size, options, batch_size, quiet):
    """Captions `paths`; returns `(results, failures)`.

    `results` is a list of `(path, caption, score)` in input order and
    `failures` a list of `(path, message)`. Each failure is also printed
    on stderr as it happens.
    """
    read_image = _common.import_library().data.read_image
    readable, images, failures = [], [], []
    progress = _progress(len(paths), quiet)
    for path in paths:
        try:
            images.append(read_image(path, image_size))
            readable.append(path)
        except ValueError as error:  # `ImageFileError` is a ValueError.
            failures.append((path, str(error)))
            print(error, file=sys.stderr)
        progress(1)
    # Images of unknown size may differ: one image per batch.
    batch_size = batch_size if image_size else 1
    results, progress = [], _progress(len(images), quiet)
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        outputs = captioner.generate(
            np.stack(batch),
            return_scores=True,
            batch_size=min(batch_size, len(images)),
            **options,
        )
        captions = captioner.detokenize(outputs["token_ids"])
        for path, caption, score in zip(
            readable[start:], captions, outputs["scores"]
        ):
            results.append((path, caption, float(score)))
        progress(len(batch))
    return results, failures


def _progress(total, quiet):
    """`keras.utils.Progbar` drawn on stderr (stdout holds the captions),
    only on a terminal; returns its `add`."""
    keras = _common.import_keras()
    verbose = 0 if quiet or not sys.stderr.isatty() else 1
    with contextlib.redirect_stdout(sys.stderr):
        bar = keras.utils.Progbar(total, verbose=verbose, unit_name="image")

    def add(count):
        with contextlib.redirect_stdout(sys.stderr):
            bar.add(count)

    return add


def write_results(results, failures, output_format, stream):
    if output_format == "text":
        stream.writelines(
            f"{path}: {caption}\n" for path, caption, _ in results
        )
    elif output_format == "tsv":
        writer = csv.writer(stream, delimiter="\t", lineterminator="\n")
        writer.writerow(["image", "caption", "score"])
        for path, caption, score in results:
            writer.writerow([path, caption, f"{score:.6f}"])
    else:
        records = [
            {"image": path, "caption": caption, "score": score}
            for path, caption, score in results
        ] + [{"image": path, "error": message} for path, message in failures]
        json.dump(records, stream, indent=1)
        stream.write("\n")


def run(args):
    captioner = _common.load_captioner(args.model, args)
    image_size = _common.requested_image_size(args, captioner)
    paths = _common.image_paths(args.images)
    if not paths:
        raise _common.UsageError(
            f"no image files in {args.images}; give image files or folders "
            "holding them."
        )
    results, failures = caption_files(
        captioner,
        paths,
        image_size,
        _common.generation_options(args),
        args.batch_size,
        args.quiet,
    )
    write_results(results, failures, args.format, sys.stdout)
    return 1 if failures else 0
