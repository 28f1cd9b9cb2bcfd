"""The one error policy of every `keras-captioning` subcommand.

A subcommand's `run(args)` returns its exit code or raises:

- `UsageError` for a mistake in the command line: a bad option value, a
  path given as an argument that does not exist, a file of the wrong
  form. Exit code 2, nothing was done.
- `DataError` for data that cannot be used or a run that failed. Exit
  code 1.

`run_subcommand` turns either into ONE line on stderr,
`keras-captioning <command>: error: <what is wrong and how to fix it>`.
Any other exception is a failed run too: one line naming its type, exit
code 1. `--debug` (an option of every subcommand) prints the traceback
above that line and leaves TensorFlow's own logging on. Ctrl-C prints
`keras-captioning: interrupted` and exits with 130.
"""

import argparse
import os
import sys
import traceback

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DEBUG_HELP = (
    "On an error, print the Python traceback too, and keep TensorFlow's "
    "start-up logging."
)


class CommandError(Exception):
    """An error the command reports on one line; `exit_code` says how."""

    exit_code = EXIT_FAILED


class UsageError(CommandError):
    """A bad option, argument path or file form: exit code 2."""

    exit_code = EXIT_USAGE


class DataError(CommandError):
    """Data that cannot be used, or a run that failed: exit code 1."""

    exit_code = EXIT_FAILED


# Errors whose message says what is wrong; others may be a bug.
_EXPECTED = (CommandError, ValueError, OSError, TypeError, ImportError)


def one_line(error):
    """The text of `error` on one line (its whitespace collapsed)."""
    text = " ".join(str(error).split())
    if isinstance(error, CommandError):
        return text
    if isinstance(error, KeyError):
        text = f"missing key {text}"
    if not text or not isinstance(error, (ValueError, OSError, TypeError)):
        name = type(error).__name__
        text = f"{name}: {text}" if text else name
    return text


class ArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose errors are one line on stderr,
    `<prog>: error: <message> (see <prog> --help)`, exit code 2."""

    def error(self, message):
        self.exit(
            EXIT_USAGE,
            f"{self.prog}: error: {message} (see {self.prog} --help)\n",
        )


def add_debug_argument(parser):
    """Adds `--debug` to a subcommand's parser."""
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)


def quiet_tensorflow():
    """Silences TensorFlow's C++ start-up logging (CUDA, oneDNN, CPU
    features) unless the user set `TF_CPP_MIN_LOG_LEVEL` themselves.

    Only has an effect before TensorFlow's first import.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def report(command, message):
    """Prints `keras-captioning <command>: error: <message>` on stderr."""
    print(f"keras-captioning {command}: error: {message}", file=sys.stderr)


def run_subcommand(command, run, args):
    """Calls `run(args)` under the policy; returns the exit code."""
    debug = getattr(args, "debug", False)
    if not debug:
        quiet_tensorflow()
    try:
        code = run(args)
    except KeyboardInterrupt:
        print("keras-captioning: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if debug:
            traceback.print_exc()
        message = one_line(error)
        if not debug and not isinstance(error, _EXPECTED):
            message += " (--debug prints the traceback)"
        report(command, message)
        return getattr(error, "exit_code", EXIT_FAILED)
    return EXIT_OK if code is None else code
