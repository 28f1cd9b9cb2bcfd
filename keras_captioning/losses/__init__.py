"""Losses for caption training."""

from keras_captioning.losses.caption_crossentropy import CaptionCrossentropy
from keras_captioning.losses.self_critical_loss import SelfCriticalLoss

__all__ = ["CaptionCrossentropy", "SelfCriticalLoss"]
