"""`ResumableBackup` says where a run resumes and refuses another model's
backup in one sentence."""

import os

import keras
import numpy as np
import pytest

from keras_captioning.callbacks import ResumableBackup
from keras_captioning.callbacks import StopOnInterrupt


def regressor(units):
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(units), keras.layers.Dense(1)]
    )
    model.compile("sgd", "mse")
    return model


class Killed(keras.callbacks.Callback):
    """Stops training after the second epoch was backed up."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("killed")


def test_a_killed_run_resumes_and_another_model_is_refused(tmp_path):
    x, y = np.zeros((4, 3)), np.zeros((4, 1))
    with pytest.raises(RuntimeError, match="killed"):
        regressor(2).fit(
            x,
            y,
            epochs=4,
            verbose=0,
            callbacks=[ResumableBackup(tmp_path), Killed()],
        )
    other = ResumableBackup(tmp_path)
    with pytest.raises(ValueError, match="does not fit this model"):
        regressor(5).fit(x, y, epochs=4, verbose=0, callbacks=[other])
    assert other.restore_error is not None and other.resumed_epochs == 0
    resumed = []
    backup = ResumableBackup(tmp_path, on_resume=resumed.append)
    history = regressor(2).fit(
        x, y, epochs=4, verbose=0, callbacks=[StopOnInterrupt(), backup]
    )
    assert resumed == [2] and backup.resumed_epochs == 2
    assert len(history.history["loss"]) == 2  # Epochs 3 and 4 only.
    assert not os.path.exists(tmp_path / "training_metadata.json")


def test_on_resume_must_be_callable(tmp_path):
    with pytest.raises(TypeError, match="on_resume"):
        ResumableBackup(tmp_path, on_resume="print")
