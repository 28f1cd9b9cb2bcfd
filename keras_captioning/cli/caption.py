"""`keras-captioning caption`: caption image files with a saved model."""

import contextlib
import csv
import json
import sys

from keras_captioning.cli import _common

NAME = "caption"
HELP = "Caption image files (or every image in a folder) with a .keras model."
DESCRIPTION = (
    HELP + " One line per image on stdout; an image that cannot be read is "
    "reported on stderr, the others are captioned and the exit code is 1."
)
OPTIONS = {
    "images": dict(nargs="+", help="Image files, or folders of images."),
    "--format": dict(
        choices=("text", "json", "tsv"),
        default="text",
        help="text: `path: caption` lines; tsv: path, caption and score "
        "columns with a header; json: a list of {image, caption, score} "
        "(or {image, error}).",
    ),
}


def configure(parser):
    _common.add_options(parser, OPTIONS)
    _common.generation_arguments(parser)
    _common.add_options(parser, _common.IMAGE_OPTIONS)


def caption_files(captioner, paths, image_size, options, batch_size, quiet):
    """`keras_captioning.data.caption_image_files` with each failure
    printed on stderr as it happens, and its progress bars drawn on stderr
    (stdout holds the captions), only on a terminal."""
    data = _common.import_library().data
    with contextlib.redirect_stdout(sys.stderr):
        return data.caption_image_files(
            captioner,
            paths,
            image_size,
            batch_size=batch_size,
            verbose=0 if quiet or not sys.stderr.isatty() else 1,
            on_failure=lambda path, error: print(error, file=sys.stderr),
            **options,
        )


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
    paths = _common.import_library().data.list_image_files(args.images)
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
