"""Captioning models and the encoders they are built from."""

from keras_captioning.models.captioning_task import CaptioningTask
from keras_captioning.models.image_captioner import ImageCaptioner
from keras_captioning.models.image_captioner_preprocessor import (
    ImageCaptionerPreprocessor,
)
from keras_captioning.models.simple_cnn import SimpleCNN

__all__ = [
    "CaptioningTask",
    "ImageCaptioner",
    "ImageCaptionerPreprocessor",
    "SimpleCNN",
]
