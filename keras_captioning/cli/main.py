import sys

from keras_captioning.cli import _common
from keras_captioning.cli import _errors

__all__ = ["build_parser", "main"]


def build_parser():
    """The `keras-captioning` argument parser, every subcommand included.

    Building it imports neither Keras nor TensorFlow: each subcommand
    imports the library when it runs.
    """
    from keras_captioning.cli import caption
    from keras_captioning.cli import evaluate
    from keras_captioning.cli import export
    from keras_captioning.cli import serve
    from keras_captioning.cli import train

    parser = _errors.ArgumentParser(
        prog="keras-captioning",
        description="Caption images, score, train, export and serve image "
        "captioners. Exit codes: 0 ok, 1 some inputs or the run failed, "
        "2 usage error (bad option, path or file form), 130 interrupted. "
        "An error is one line on stderr; add --debug after the subcommand "
        "for its traceback.",
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True
    )
    for command in (caption, evaluate, train, export, serve):
        _common.add_subcommand(subparsers, command)
    return parser


def main(argv=None):
    """Runs `keras-captioning` with `argv` (the process's arguments when
    `None`) and returns its exit code: `0` (ok), `1` (some inputs or the
    run failed), `2` (usage error) or `130` (interrupted).

    Example:
    >>> # The error goes to stderr, on one line.
    >>> keras_captioning.cli.main(["caption", "no-such-model.keras", "a.png"])
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("keras-captioning: interrupted", file=sys.stderr)
        return _errors.EXIT_INTERRUPTED
    return _errors.run_subcommand(args.command, args.run, args)
