"""Keras callbacks for training image captioners, `StopOnInterrupt` (a
Ctrl-C that stops `fit` at the end of a batch) and `backed_up_epochs`,
where a run backed up by `keras.callbacks.BackupAndRestore` stands."""

from keras_captioning.callbacks.backed_up_epochs import backed_up_epochs
from keras_captioning.callbacks.caption_metrics_callback import (
    CaptionMetricsCallback,
)
from keras_captioning.callbacks.stop_on_interrupt import StopOnInterrupt

__all__ = ["CaptionMetricsCallback", "StopOnInterrupt", "backed_up_epochs"]
