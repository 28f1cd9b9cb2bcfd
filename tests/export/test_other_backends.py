"""On jax and torch, `export` refuses with a message that says what to do.

It runs in the process of the suite, on the backend the suite runs on:
`every_backend` keeps it in CI's jax and torch stages (tests/conftest.py
deselects the rest of this folder there). On tensorflow, export works
(tests/export/test_saved_model.py), so there it is skipped.
"""

import keras
import pytest

from keras_captioning.models import ImageCaptioner

pytestmark = [
    pytest.mark.every_backend,
    pytest.mark.skipif(
        keras.backend.backend() == "tensorflow",
        reason="export works on tensorflow; this is the jax and torch error",
    ),
]


def test_other_backends_get_a_clear_error(tmp_path):
    captioner = ImageCaptioner(
        ["a"],
        max_length=3,
        decoder={"units": 4, "embedding_dim": 4},
        feature_to_sequence={"units": 4},
    )
    with pytest.raises(RuntimeError) as error:
        captioner.export(tmp_path / "served")
    message = str(error.value)
    assert "Exporting a captioner needs the TensorFlow backend" in message
    assert f"the current backend is {keras.backend.backend()!r}" in message
    assert "KERAS_BACKEND=tensorflow" in message
    assert "keras-captioning export captioner.keras OUTPUT" in message
    assert not (tmp_path / "served").exists()
