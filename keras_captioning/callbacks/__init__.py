"""Keras callbacks for training image captioners: `CaptionMetricsCallback`,
`StopOnInterrupt` (a Ctrl-C that stops `fit` at the end of a batch),
`ResumableBackup` (`BackupAndRestore` that says where a run resumes), and
`backed_up_epochs`, where a backed-up run stands."""

from keras_captioning.callbacks.backed_up_epochs import backed_up_epochs
from keras_captioning.callbacks.caption_metrics_callback import (
    CaptionMetricsCallback,
)
from keras_captioning.callbacks.resumable_backup import ResumableBackup
from keras_captioning.callbacks.stop_on_interrupt import StopOnInterrupt

__all__ = [
    "CaptionMetricsCallback",
    "ResumableBackup",
    "StopOnInterrupt",
    "backed_up_epochs",
]
