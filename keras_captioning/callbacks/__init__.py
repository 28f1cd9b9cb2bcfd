"""Keras callbacks for training image captioners."""

from keras_captioning.callbacks.caption_metrics_callback import (
    CaptionMetricsCallback,
)

__all__ = ["CaptionMetricsCallback"]
