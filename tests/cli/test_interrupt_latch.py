"""A Ctrl-C that Python raises inside a finalizer is not lost.

Python prints "Exception ignored" for a `KeyboardInterrupt` raised in a
`__del__` and goes on; TensorFlow frees each epoch's data iterator in one,
so `keras-captioning train` could finish a run the user had interrupted.
Each case runs in a fresh interpreter, whose SIGINT handler is Python's own.
"""

import os
import subprocess
import sys

from tests.cli._signals import default_sigint

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))

SCRIPT = r"""
import os, signal, sys
from keras_captioning.cli.train import _InterruptLatch

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


def test_without_the_latch_the_interrupt_is_swallowed():
    # The failure the latch exists for, shown on this Python.
    result = run("bare")
    assert result.returncode == 0, result.stderr
    assert "carried on" in result.stdout
    assert "KeyboardInterrupt" in result.stderr


def test_the_latch_raises_a_swallowed_interrupt_again():
    result = run("latch")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "raised again",
        "handler restored: True",
    ]
