import argparse
import sys

from keras_captioning.cli import _common

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_SUBCOMMANDS = ("caption", "evaluate", "train", "export")


def build_parser():
    """The `keras-captioning` argument parser, every subcommand included."""
    from keras_captioning.cli import caption
    from keras_captioning.cli import evaluate
    from keras_captioning.cli import export
    from keras_captioning.cli import train

    parser = argparse.ArgumentParser(
        prog="keras-captioning",
        description="Caption images, score, train and export image "
        "captioners. Exit codes: 0 ok, 1 some inputs failed, 2 usage "
        "error.",
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True
    )
    for module in (caption, evaluate, train, export):
        module.add_parser(subparsers)
    return parser


def main(argv=None):
    """Runs `keras-captioning` with `argv` (the process's arguments when
    `None`) and returns its exit code.

    Args:
        argv: list of str or `None`.

    Returns:
        int, `0` (ok), `1` (some inputs failed) or `2` (usage error).

    Example:
    >>> # The error goes to stderr, on one line.
    >>> keras_captioning.cli.main(["caption", "no-such-model.keras", "a.png"])
    2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except _common.UsageError as error:
        print(
            f"keras-captioning {args.command}: error: {error}", file=sys.stderr
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("keras-captioning: interrupted", file=sys.stderr)
        return EXIT_FAILED
