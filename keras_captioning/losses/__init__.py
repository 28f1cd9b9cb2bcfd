"""Losses for caption training."""

from keras_captioning.losses.caption_crossentropy import CaptionCrossentropy

__all__ = ["CaptionCrossentropy"]
