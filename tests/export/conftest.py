"""Seeded captioners, one per mode, that caption the images differently.

The export tests compare an artifact's captions with `caption`'s: what they
need is a captioner whose captions differ from image to image, with margins
wide enough that LiteRT's, ONNX's and int8 arithmetic pick the same words,
not one that has learnt its captions: a few seconds of training each
(tests/captioners.py).
"""

import keras
import pytest

from tests.captioners import CAPTIONS  # noqa: F401 (the tests import it here)
from tests.captioners import VOCABULARY  # noqa: F401
from tests.captioners import briefly_trained_captioner
from tests.captioners import colour_images  # noqa: F401
from tests.captioners import untrained_captioner


def conditioning_modes():
    """Every registered conditioning mode."""
    from keras_captioning.layers import conditioning

    return tuple(conditioning.names())


MODES = conditioning_modes()
# The (mode, search) pairs each format exports by default: greedy search in a
# mode that reads the image once, beam search in one that attends to it at
# every step; every pair with --run_large.
DEFAULT_CASES = (("init_inject", "greedy"), ("attention", "beam"))

needs_tensorflow = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="export traces TensorFlow graphs: it runs on the tensorflow "
    "backend only (other backends get a clear error, tested separately)",
)

# What a test comparing an exported artifact's captions with the captioner's
# needs of them: enough distinct captions for the comparison to mean
# something.
MIN_DISTINCT_CAPTIONS = 3


class _Captioners(dict):
    """Makes each mode's captioner the first time a test asks for it."""

    def __init__(self, make_captioner):
        super().__init__()
        self._make_captioner = make_captioner

    def __missing__(self, mode):
        captioner = self._make_captioner(mode)
        self[mode] = captioner
        return captioner


@pytest.fixture(scope="session")
def captioners():
    """`{mode: captioner}`, each captioning the six images differently,
    with margins that LiteRT's, ONNX's and int8 arithmetic keep."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("export runs on the tensorflow backend only")
    return _Captioners(briefly_trained_captioner)


@pytest.fixture(scope="session")
def untrained_captioners():
    """`{mode: captioner}`, untrained: for a SavedModel, whose TensorFlow
    arithmetic is the captioner's own, near ties break the same way."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("export runs on the tensorflow backend only")
    return _Captioners(untrained_captioner)
