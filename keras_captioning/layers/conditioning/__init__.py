"""Conditioning modes: where the image enters `CaptionDecoder`.

Each mode is a `Conditioning` layer in its own module; `register`, `get`
and `names` form the registry behind `CaptionDecoder(conditioning="...")`.
"""

# isort: off
# Import order is registration order, the order of `names()`.
from keras_captioning.layers.conditioning.registry import get
from keras_captioning.layers.conditioning.registry import names
from keras_captioning.layers.conditioning.registry import register
from keras_captioning.layers.conditioning.conditioning import Conditioning
from keras_captioning.layers.conditioning.init_inject import InitInject
from keras_captioning.layers.conditioning.pre_inject import PreInject
from keras_captioning.layers.conditioning.par_inject import ParInject
from keras_captioning.layers.conditioning.merge import Merge
from keras_captioning.layers.conditioning.attention import Attention
from keras_captioning.layers.conditioning.top_down import TopDown
from keras_captioning.layers.conditioning.adaptive_attention import (
    AdaptiveAttention,
)

# isort: on

# The mode `CaptionDecoder` uses when none is given.
DEFAULT = "init_inject"

__all__ = [
    "DEFAULT",
    "AdaptiveAttention",
    "Attention",
    "Conditioning",
    "InitInject",
    "Merge",
    "ParInject",
    "PreInject",
    "TopDown",
    "get",
    "names",
    "register",
]
