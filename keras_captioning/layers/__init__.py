"""Layers that connect a CNN encoder to a recurrent caption decoder."""

from keras_captioning.layers import conditioning
from keras_captioning.layers.caption_decoder import CaptionDecoder
from keras_captioning.layers.feature_to_sequence import FeatureToSequence
from keras_captioning.layers.image_preprocessing import ImagePreprocessing

__all__ = [
    "CaptionDecoder",
    "FeatureToSequence",
    "ImagePreprocessing",
    "conditioning",
]
