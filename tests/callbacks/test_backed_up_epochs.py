"""`backed_up_epochs` reads where a `BackupAndRestore` run stands."""

import keras
import numpy as np

from keras_captioning.callbacks import backed_up_epochs


def test_counts_the_epochs_a_real_backup_holds(tmp_path):
    backup_dir = tmp_path / "backup"
    assert backed_up_epochs(backup_dir) == 0  # No backup yet.

    class StopAfterTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    data = np.zeros((4, 2)), np.zeros((4, 1))
    backup = keras.callbacks.BackupAndRestore(str(backup_dir))
    try:
        model.fit(
            *data, epochs=5, verbose=0, callbacks=[backup, StopAfterTwo()]
        )
    except KeyboardInterrupt:
        pass
    assert backed_up_epochs(backup_dir) == 2
    assert backed_up_epochs(str(backup_dir)) == 2


def test_an_unreadable_backup_counts_as_none(tmp_path):
    (tmp_path / "training_metadata.json").write_text("not json")
    assert backed_up_epochs(tmp_path) == 0
