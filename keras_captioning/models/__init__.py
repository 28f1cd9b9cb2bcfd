"""Captioning models and the encoders they are built from."""

from keras_captioning.models.image_captioner import ImageCaptioner
from keras_captioning.models.simple_cnn import SimpleCNN

__all__ = ["ImageCaptioner", "SimpleCNN"]
