"""Optimizers for training a captioner's parts at their own pace."""

from keras_captioning.optimizers.encoder_fine_tuning_optimizer import (
    EncoderFineTuningOptimizer,
)

__all__ = ["EncoderFineTuningOptimizer"]
