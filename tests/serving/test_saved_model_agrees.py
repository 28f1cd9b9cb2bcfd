"""The predict route takes the body TensorFlow Serving takes for the
exported SavedModel's `encoded_images` input, and captions alike."""

import base64

import keras
import pytest

from keras_captioning.serving import build_app
from tests.serving.conftest import b64
from tests.serving.conftest import http
from tests.serving.conftest import serving

pytestmark = [
    pytest.mark.backend_independent,
    # The export traces and saves the generation loop: ~15 s on two CPUs.
    pytest.mark.large,
    pytest.mark.skipif(
        keras.backend.backend() != "tensorflow",
        reason="the SavedModel export needs the tensorflow backend",
    ),
]


def test_predict_equals_the_exported_saved_model(
    captioner, image_files, tmp_path
):
    import tensorflow as tf

    captioner.export(tmp_path / "tiny" / "1")
    exported = tf.saved_model.load(str(tmp_path / "tiny" / "1"))
    files = [open(path, "rb").read() for path in image_files]
    # The same body a TensorFlow Serving client sends to the SavedModel's
    # `serve_bytes` signature, whose one input is `encoded_images`.
    body = {"instances": [{"encoded_images": {"b64": b64(f)}} for f in files]}
    decoded = [
        base64.b64decode(i["encoded_images"]["b64"]) for i in body["instances"]
    ]
    expected = exported.serve_bytes(tf.constant(decoded))["captions"].numpy()
    expected = [caption.decode() for caption in expected]
    assert len(set(expected)) >= 2
    app = build_app(captioner, model_name="tiny", max_batch_size=8)
    with serving(app) as url:
        answer = http.post(f"{url}/v1/models/tiny:predict", json=body)
    assert answer.status_code == 200, answer.text
    assert [p["captions"] for p in answer.json()["predictions"]] == expected
