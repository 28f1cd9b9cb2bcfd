import os
import warnings

import keras

from keras_captioning.callbacks.backed_up_epochs import backed_up_epochs


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` that says where a run resumes and
    refuses a backup of another model in one sentence.

    Like its base class, it backs up the model and the optimizer after
    every epoch in `backup_dir`, resumes a `fit` run again with the same
    callback after the last finished epoch, and deletes the backup once
    training ends. In addition:

    - after a backup was restored, `on_resume(epochs)` is called with the
      number of finished epochs it holds (also kept in `resumed_epochs`),
      so a script can say where the run goes on;
    - a backup that does not fit the model (other sizes, another mode)
      raises a `ValueError` that starts with "cannot resume from the
      backup in <backup_dir>", instead of Keras's message listing
      every layer (that error is kept in `restore_error` and is the
      `ValueError`'s `__cause__`); Keras's warnings about the layers are
      shown only when the backup was restored.

    List `keras_captioning.callbacks.StopOnInterrupt` before it, so that a
    Ctrl-C stops at a batch's end and an interrupted epoch is not backed
    up as finished; `backed_up_epochs(backup_dir)` then says how many
    epochs are kept.

    Args:
        backup_dir: str or path-like. Folder of the backup.
        on_resume: callable or `None`. Called with the number of finished
            epochs of a restored backup. Defaults to `None`.
        **kwargs: other arguments of `keras.callbacks.BackupAndRestore`,
            such as `save_freq` and `double_checkpoint`.

    Example:

    >>> import tempfile
    >>> backup = keras_captioning.callbacks.ResumableBackup(
    ...     tempfile.mkdtemp(), on_resume=print)
    >>> backup.resumed_epochs, backup.restore_error
    (0, None)
    """

    def __init__(self, backup_dir, on_resume=None, **kwargs):
        backup_dir = os.fspath(backup_dir)
        super().__init__(backup_dir, **kwargs)
        if on_resume is not None and not callable(on_resume):
            raise TypeError(
                "`on_resume` must be callable or None. "
                f"Received: on_resume={on_resume!r}"
            )
        self.on_resume = on_resume
        self.resumed_epochs = 0
        self.restore_error = None

    def on_train_begin(self, logs=None):
        found = os.path.isdir(self.backup_dir) and bool(
            os.listdir(self.backup_dir)
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                super().on_train_begin(logs)
            except (OSError, ValueError) as error:
                self.restore_error = error
                raise ValueError(
                    f"cannot resume from the backup in {self.backup_dir}: it "
                    f"does not fit this model ({type(error).__name__}; was it "
                    "made with other options?)."
                ) from error
        for warning in caught:
            warnings.warn_explicit(
                warning.message,
                warning.category,
                warning.filename,
                warning.lineno,
            )
        if found:
            self.resumed_epochs = backed_up_epochs(self.backup_dir)
            if self.on_resume is not None:
                self.on_resume(self.resumed_epochs)
