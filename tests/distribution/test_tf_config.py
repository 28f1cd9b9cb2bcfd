"""A multi-worker `TF_CONFIG` is refused with one line saying why."""

import json

import keras
import numpy as np
import pytest

from keras_captioning.models import ImageCaptioner


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TF_CONFIG is tensorflow's"
)
def test_fit_refuses_a_multi_worker_tf_config(monkeypatch):
    captioner = ImageCaptioner(
        ["a", "dog"],
        encoder=None,
        feature_to_sequence={"units": 4},
        decoder={"embedding_dim": 4, "units": 4},
        max_length=3,
    )
    captioner.compile()
    features = np.zeros((2, 3), "float32")
    token_ids = captioner.tokenize(["a dog", "a"])
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    monkeypatch.setenv(
        "TF_CONFIG", json.dumps({"cluster": cluster, "task": {"index": 0}})
    )
    with pytest.raises(RuntimeError, match="2 workers") as info:
        captioner.fit(features, token_ids, verbose=0)
    message = str(info.value)
    assert "\n" not in message
    assert "keras-team/keras/issues/20585" in message
    assert "KERAS_BACKEND=jax" in message
    # One worker is an ordinary run.
    one = {"worker": ["127.0.0.1:1"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": one}))
    captioner.fit(features, token_ids, verbose=0)
