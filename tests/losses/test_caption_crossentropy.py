import keras
import numpy as np
import pytest

from keras_captioning.losses import CaptionCrossentropy
from keras_captioning.metrics import MaskedTokenAccuracy


def _log_softmax(logits):
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def test_mean_over_real_tokens_only():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 6)).astype("float32")
    targets = np.array([[3, 2, 0, 0], [4, 5, 1, 2]])
    log_probs = _log_softmax(logits)
    real = targets != 0
    picked = np.take_along_axis(log_probs, targets[..., None], -1)[..., 0]
    expected = -picked[real].mean()
    loss = CaptionCrossentropy()(targets, logits)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_padding_amount_does_not_dilute_the_loss():
    logits = np.zeros((1, 8, 10), "float32")
    short = np.array([[5, 2, 0, 0, 0, 0, 0, 0]])
    long = np.array([[5, 2, 7, 2, 6, 2, 4, 2]])
    loss = CaptionCrossentropy()
    assert float(loss(short, logits)) == pytest.approx(
        float(loss(long, logits))
    )


def test_label_smoothing_mixes_in_the_uniform_distribution():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(1, 3, 5)).astype("float32")
    targets = np.array([[1, 2, 3]])
    plain = float(CaptionCrossentropy()(targets, logits))
    log_probs = _log_softmax(logits)
    uniform = -log_probs.mean(-1).mean()
    smoothed = float(CaptionCrossentropy(label_smoothing=0.2)(targets, logits))
    assert smoothed == pytest.approx(0.8 * plain + 0.2 * uniform, rel=1e-5)


def test_sample_weight_and_reductions():
    logits = np.zeros((2, 2, 4), "float32")
    targets = np.array([[1, 0], [2, 3]])
    per_token = CaptionCrossentropy(reduction="none")(targets, logits)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(per_token),
        [[np.log(4), 0], [np.log(4), np.log(4)]],
        rtol=1e-6,
    )
    weighted = CaptionCrossentropy()(
        targets, logits, sample_weight=np.array([0.0, 1.0])
    )
    assert float(weighted) == pytest.approx(np.log(4), rel=1e-6)


def test_config_round_trip_and_validation():
    loss = CaptionCrossentropy(label_smoothing=0.1, pad_token_id=0)
    clone = CaptionCrossentropy.from_config(loss.get_config())
    assert clone.label_smoothing == 0.1
    with pytest.raises(ValueError, match="label_smoothing"):
        CaptionCrossentropy(label_smoothing=1.0)
    with pytest.raises(ValueError, match="reduction"):
        CaptionCrossentropy(reduction="max")


def test_masked_token_accuracy_skips_padding():
    metric = MaskedTokenAccuracy()
    logits = np.eye(4, dtype="float32")[None, [1, 2, 0, 0]]
    metric.update_state(np.array([[1, 3, 0, 0]]), logits)
    assert float(metric.result()) == pytest.approx(0.5)
    metric.update_state(np.array([[2, 2, 0, 0]]), np.eye(4)[None, [2, 2, 1, 1]])
    assert float(metric.result()) == pytest.approx(0.75)
    metric.reset_state()
    assert float(metric.result()) == 0.0
