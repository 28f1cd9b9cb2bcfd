"""Keras callbacks for training image captioners, and `backed_up_epochs`,
where a run backed up by `keras.callbacks.BackupAndRestore` stands."""

from keras_captioning.callbacks.backed_up_epochs import backed_up_epochs
from keras_captioning.callbacks.caption_metrics_callback import (
    CaptionMetricsCallback,
)

__all__ = ["CaptionMetricsCallback", "backed_up_epochs"]
