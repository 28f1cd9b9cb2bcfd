"""keras_captioning: image captioning with a CNN encoder and an RNN decoder.

The public names live in the subpackages: `layers`, `models`, `generation`,
`text`, `datasets`, `data`, `losses`, `metrics`, `callbacks`,
`distribution`, `optimizers`, `training` and `visualization`. The three
central classes are also importable from here.
"""

import importlib
import os
import sys

from keras_captioning.version import __version__

_SUBPACKAGES = (
    "callbacks",
    "data",
    "datasets",
    "distribution",
    "generation",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "text",
    "training",
    "visualization",
)
_CLASSES = {
    "CaptionDecoder": "layers",
    "FeatureToSequence": "layers",
    "ImageCaptioner": "models",
}

__all__ = ["__version__", *_SUBPACKAGES, *_CLASSES]


def _command_is_starting():
    """True while `keras-captioning` (or `python -m keras_captioning.cli`)
    starts: the command imports the library after parsing its arguments,
    so `--help` and a mistyped option never start TensorFlow."""
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    if os.path.splitext(script)[0] == "keras-captioning":
        return True
    argv = list(getattr(sys, "orig_argv", ()))
    if script != "-m" or "-m" not in argv:
        return False
    module = argv[argv.index("-m") + 1 :][:1]
    return module in (["keras_captioning.cli"], ["keras_captioning.cli.main"])


def _import_all():
    """Imports every subpackage, so every Keras class of the library is
    registered before a `.keras` file is loaded."""
    for name in _SUBPACKAGES:
        globals()[name] = importlib.import_module(f"keras_captioning.{name}")
    for name, package in _CLASSES.items():
        globals()[name] = getattr(globals()[package], name)


def __getattr__(name):
    if name in _SUBPACKAGES or name in _CLASSES:
        _import_all()
        return globals()[name]
    raise AttributeError(f"module 'keras_captioning' has no attribute {name!r}")


if not _command_is_starting():
    _import_all()
