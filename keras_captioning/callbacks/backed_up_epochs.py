"""Where a run backed up by `keras.callbacks.BackupAndRestore` stands."""

import json
import os

# The file `BackupAndRestore` writes beside the weights after every epoch.
METADATA_FILE = "training_metadata.json"


def backed_up_epochs(backup_dir):
    """How many epochs the `BackupAndRestore` backup in `backup_dir` holds.

    `keras.callbacks.BackupAndRestore(backup_dir)` saves the weights and
    the number of finished epochs after every epoch, and a `fit` run again
    with the same callback resumes after them. This reads that number, so
    a script or the `keras-captioning train` command can say where a run
    will resume (or where an interrupted one stopped) without starting
    `fit`.

    Args:
        backup_dir: str or path-like. The callback's `backup_dir`.

    Returns:
        int, the epochs finished and kept in the backup; `0` when there is
        no backup or its metadata cannot be read.

    Example:

    >>> import json, os, tempfile
    >>> import keras_captioning
    >>> folder = tempfile.mkdtemp()
    >>> keras_captioning.callbacks.backed_up_epochs(folder)
    0
    >>> with open(os.path.join(folder, "training_metadata.json"), "w") as f:
    ...     json.dump({"epoch": 3, "batch": -1}, f)
    >>> keras_captioning.callbacks.backed_up_epochs(folder)
    3
    """
    try:
        with open(os.path.join(os.fspath(backup_dir), METADATA_FILE)) as file:
            return int(json.load(file)["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0
