import keras
import numpy as np
import pytest

from keras_captioning.losses import SelfCriticalLoss


def numpy_loss(y_true, logits, banned):
    advantages, targets = y_true[:, 0], y_true[:, 1:].astype(int)
    losses = []
    for row in range(len(y_true)):
        total, counted = 0.0, 0
        for step, token in enumerate(targets[row]):
            if token < 0:
                continue
            allowed = np.delete(logits[row, step].astype(np.float64), banned)
            norm = allowed.max() + np.log(np.exp(allowed - allowed.max()).sum())
            total += logits[row, step, token] - norm
            counted += 1
        losses.append(-advantages[row] * total / max(counted, 1))
    return np.array(losses)


def random_case(seed=0, batch=4, steps=5, vocabulary=7):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(batch, steps, vocabulary)).astype("float32")
    targets = rng.integers(3, vocabulary, (batch, steps)).astype("float32")
    targets[0, 3:] = -1  # steps that do not count
    targets[1, :] = -1  # nothing counts: the caption's loss is 0
    advantages = rng.normal(size=(batch, 1)).astype("float32")
    return np.concatenate([advantages, targets], axis=1), logits


def test_matches_a_numpy_computation():
    y_true, logits = random_case()
    banned = [0, 1, 2]
    expected = numpy_loss(y_true, logits, banned)
    loss = SelfCriticalLoss(banned_token_ids=banned, reduction="none")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loss(y_true, logits)), expected, rtol=1e-5
    )
    mean = SelfCriticalLoss(banned_token_ids=banned)
    assert float(mean(y_true, logits)) == pytest.approx(
        expected.mean(), rel=1e-5
    )
    weights = np.array([1.0, 2.0, 0.0, -1.0], "float32")
    assert float(mean(y_true, logits, sample_weight=weights)) == pytest.approx(
        (expected * weights).mean(), rel=1e-5
    )


def test_a_zero_advantage_gives_a_zero_gradient():
    y_true, logits = random_case()
    y_true[:, 0] = 0.0
    loss = SelfCriticalLoss(banned_token_ids=(0, 1, 2))
    assert float(loss(y_true, logits)) == 0.0


def test_config_round_trip():
    loss = SelfCriticalLoss(banned_token_ids=(0, 1), name="scst")
    restored = SelfCriticalLoss.from_config(loss.get_config())
    assert restored.banned_token_ids == (0, 1)
    assert restored.name == "scst"
    serialized = keras.saving.serialize_keras_object(loss)
    again = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(again, SelfCriticalLoss)


def test_old_import_path_still_works():
    from keras_captioning.models import _self_critical

    assert _self_critical.SelfCriticalLoss is SelfCriticalLoss


def test_bad_banned_token_ids_are_rejected():
    with pytest.raises((ValueError, TypeError), match="banned_token_ids"):
        SelfCriticalLoss(banned_token_ids=(-1,))
