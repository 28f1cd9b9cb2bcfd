"""keras_captioning: image captioning with a CNN encoder and an RNN decoder.

The public names live in the subpackages: `layers`, `models`, `generation`,
`text`, `datasets`, `data`, `metrics`, `callbacks` and `visualization`.
"""

from keras_captioning import callbacks
from keras_captioning import data
from keras_captioning import datasets
from keras_captioning import generation
from keras_captioning import layers
from keras_captioning import metrics
from keras_captioning import models
from keras_captioning import text
from keras_captioning import visualization
from keras_captioning.version import __version__

__all__ = [
    "__version__",
    "callbacks",
    "data",
    "datasets",
    "generation",
    "layers",
    "metrics",
    "models",
    "text",
    "visualization",
]
