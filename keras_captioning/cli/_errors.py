"""The one error policy of every `keras-captioning` subcommand (the exit
codes are in `keras_captioning.cli`'s docstring).

A subcommand's `run(args)` returns its exit code or raises `UsageError`
(exit code 2) or `DataError` (1); `run_subcommand` turns any exception
into ONE line on stderr, `keras-captioning <command>: error: <what is
wrong and how to fix it>`, with the traceback above it under `--debug`.
"""

import argparse
import contextlib
import os
import sys
import traceback

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """An error the command reports on one line; `exit_code` says how."""

    exit_code = EXIT_FAILED


class UsageError(CommandError):
    """A bad option, argument path or file form: exit code 2."""

    exit_code = EXIT_USAGE


class DataError(CommandError):
    """Data that cannot be used, or a run that failed: exit code 1."""


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
    parser.add_argument(
        "--debug",
        action="store_true",
        help="On an error, print the Python traceback too, and keep "
        "TensorFlow's start-up logging.",
    )


# Set by `run_subcommand`: whether `--debug` was given.
_debug = False


@contextlib.contextmanager
def silenced_stderr():
    """Points file descriptor 2 at the null device for the block.

    TensorFlow's start-up messages (CUDA, oneDNN, CPU features) are written
    by C++ straight to that descriptor, before `TF_CPP_MIN_LOG_LEVEL` is
    read, so no Python setting reaches them.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def import_keras(set_up=None):
    """Imports Keras and starts its backend with the start-up logging
    silenced (kept with `--debug`); returns `keras`. `set_up`, a function,
    runs after the import and before the backend starts."""
    started = "keras" in sys.modules or _debug
    if not started:
        # Errors only, unless the user set the variable themselves.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with contextlib.nullcontext() if started else silenced_stderr():
        import keras
    if set_up is not None:
        set_up()
    if not started:
        with silenced_stderr():
            # The first operation starts the devices (CUDA's probe included).
            keras.ops.convert_to_numpy(keras.ops.zeros((1,)))
    return keras


def run_subcommand(command, run, args):
    """Calls `run(args)` under the policy; returns the exit code."""
    global _debug
    debug = _debug = bool(getattr(args, "debug", False))
    try:
        code = run(args)
    except KeyboardInterrupt as interrupt:
        # A command may say what was kept and how to resume.
        detail = f"; {interrupt}" if str(interrupt) else ""
        print(f"keras-captioning: interrupted{detail}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if debug:
            traceback.print_exc()
        message = one_line(error)
        if not debug and not isinstance(error, _EXPECTED):
            message += " (--debug prints the traceback)"
        print(f"keras-captioning {command}: error: {message}", file=sys.stderr)
        return getattr(error, "exit_code", EXIT_FAILED)
    return EXIT_OK if code is None else code
