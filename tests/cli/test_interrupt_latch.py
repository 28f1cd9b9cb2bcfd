"""A Ctrl-C during `keras-captioning train` is neither lost nor raised
inside code that cannot take it.

Python prints "Exception ignored" for a `KeyboardInterrupt` raised in a
`__del__` and goes on; TensorFlow frees each epoch's data iterator in one,
so `keras-captioning train` could finish a run the user had interrupted.
The latch raises nothing in the handler: it records the first Ctrl-C for
`check`, and a second one stops at once. Each case runs in a fresh
interpreter, whose SIGINT handler is Python's own.
"""

import os
import subprocess
import sys

import pytest

from tests.cli._signals import default_sigint

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))

SCRIPT = r"""
import os, signal, sys
from keras_captioning.callbacks import StopOnInterrupt as _InterruptLatch

class FreedAtEpochEnd:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(10))  # Python code after the signal, still in __del__

def epoch():
    FreedAtEpochEnd()

if sys.argv[1] == "latch":
    with _InterruptLatch() as latch:
        epoch()
        try:
            latch.check()
        except KeyboardInterrupt:
            print("raised again")
    print("handler restored:",
          signal.getsignal(signal.SIGINT) is signal.default_int_handler)
elif sys.argv[1] == "twice":
    with _InterruptLatch() as latch:
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(10))
        print("first recorded:", latch.interrupted)
        try:
            os.kill(os.getpid(), signal.SIGINT)
            sum(range(10))
        except KeyboardInterrupt:
            print("second raised at once")
else:
    epoch()
    print("carried on")
"""


def run(mode):
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PACKAGE_ROOT,
        env=dict(os.environ, PYTHONPATH=PACKAGE_ROOT),
        preexec_fn=default_sigint,
    )


@pytest.mark.large
def test_without_the_latch_the_interrupt_is_swallowed():
    # The failure the latch exists for, shown on this Python.
    result = run("bare")
    assert result.returncode == 0, result.stderr
    assert "carried on" in result.stdout
    assert "KeyboardInterrupt" in result.stderr


@pytest.mark.parametrize(
    "mode, lines",
    [
        # A Ctrl-C in a finalizer is raised again from ordinary code.
        ("latch", ["raised again", "handler restored: True"]),
        # The first Ctrl-C is only recorded; a second stops at once.
        pytest.param(
            "twice",
            ["first recorded: True", "second raised at once"],
            marks=pytest.mark.large,
        ),
    ],
)
def test_the_latch_records_a_ctrl_c_and_raises_it_in_ordinary_code(mode, lines):
    result = run(mode)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == lines
    # Nothing was raised inside the handler, so nothing was swallowed.
    assert "KeyboardInterrupt" not in result.stderr
