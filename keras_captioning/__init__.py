"""keras_captioning: image captioning with a CNN encoder and an RNN decoder.

The public names live in the subpackages: `layers`, `models`, `generation`,
`text`, `datasets`, `data`, `losses`, `metrics`, `callbacks` and
`visualization`. The three central classes are also importable from here.
"""

from keras_captioning import callbacks
from keras_captioning import data
from keras_captioning import datasets
from keras_captioning import generation
from keras_captioning import layers
from keras_captioning import losses
from keras_captioning import metrics
from keras_captioning import models
from keras_captioning import text
from keras_captioning import visualization
from keras_captioning.layers import CaptionDecoder
from keras_captioning.layers import FeatureToSequence
from keras_captioning.models import ImageCaptioner
from keras_captioning.version import __version__

__all__ = [
    "CaptionDecoder",
    "FeatureToSequence",
    "ImageCaptioner",
    "__version__",
    "callbacks",
    "data",
    "datasets",
    "generation",
    "layers",
    "losses",
    "metrics",
    "models",
    "text",
    "visualization",
]
