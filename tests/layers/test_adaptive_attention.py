"""The `"adaptive_attention"` conditioning mode (Lu et al., 2017).

What every mode does (shapes, padding, step == teacher forcing, saving,
the layer harness) is tested for all registered modes in
`test_caption_decoder.py`; these tests cover the sentinel, the `k + 1`
attention columns and the paper's equations, checked against NumPy.
"""

import numpy as np
import pytest

from keras_captioning.layers import CaptionDecoder
from keras_captioning.layers import conditioning
from tests.layers import attentive_mode_checks as checks

MODE = "adaptive_attention"


def test_is_registered():
    assert MODE in conditioning.names()


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_scores_cover_the_image_steps_and_the_sentinel(cell, num_layers):
    decoder = checks.decoder(MODE, cell=cell, num_layers=num_layers)
    ids = checks.captions()
    _, scores = checks.check_steps_equal_teacher_forcing(
        decoder, ids, checks.features()
    )
    assert scores.shape == (3, 5, 5)
    output_shape = decoder.compute_output_shape(
        (3, 5), (3, 4, 5), return_attention_scores=True
    )
    assert tuple(output_shape[1]) == (3, 5, 5)
    beta = scores[..., -1][ids != 0]
    assert np.all((beta > 0) & (beta < 1))


def _reference_logits_and_scores(decoder, ids, features):
    """Lu et al.'s equations in NumPy, one LSTM layer, from the weights."""
    mode, dense = decoder.conditioning_layer, checks.dense
    embeddings = checks.to_numpy(decoder._token_embedding.embeddings)[ids]
    v = np.maximum(dense(mode._image_projection, features), 0)
    v_g = np.maximum(dense(mode._global_projection, features.mean(1)), 0)
    scorer = mode._scorer
    keys = dense(scorer.key_projection, v)
    h = np.zeros((len(ids), mode.units), "float32")
    m = np.zeros_like(h)
    all_logits, all_scores = [], []
    for t in range(ids.shape[1]):
        x = np.concatenate([embeddings[:, t], v_g], -1)
        gate = checks.sigmoid(
            dense(mode._sentinel_gate, np.concatenate([x, h], -1))
        )
        h, m = checks.lstm_step(mode._stack.cells[0], x, h, m)
        s = gate * np.tanh(m)
        query = dense(scorer.query_projection, h)[:, None]
        image_scores = dense(scorer.score, np.tanh(keys + query))[..., 0]
        sentinel_key = dense(mode._sentinel_key_projection, s)[:, None]
        sentinel_score = dense(scorer.score, np.tanh(sentinel_key + query))
        alpha = checks.softmax(
            np.concatenate([image_scores, sentinel_score[..., 0]], -1)
        )
        beta = alpha[:, -1:]
        c_t = np.einsum("bk,bkd->bd", alpha[:, :-1] / (1 - beta), v)
        c_hat = beta * s + (1 - beta) * c_t
        all_logits.append(dense(decoder._logits_projection, c_hat + h))
        all_scores.append(alpha)
    return np.stack(all_logits, 1), np.stack(all_scores, 1)


def test_outputs_follow_the_equations_of_the_paper():
    decoder = checks.decoder(MODE, units=5, attention_units=3)
    ids = np.array([[1, 5, 7, 9], [1, 4, 3, 6]])
    features = checks.features()[:2]
    logits, scores = decoder(ids, features, return_attention_scores=True)
    expected_logits, expected_scores = _reference_logits_and_scores(
        decoder, ids, features
    )
    np.testing.assert_allclose(
        checks.to_numpy(scores), expected_scores, atol=1e-5
    )
    np.testing.assert_allclose(
        checks.to_numpy(logits), expected_logits, atol=1e-5
    )


def test_gru_sentinel_reads_the_state():
    decoder = checks.decoder(MODE, cell="gru")
    features = checks.features()
    decoder(checks.captions(), features)
    state = decoder.get_initial_state(features)
    assert [len(layer) for layer in state["layers"]] == [1]
    _, _, scores = decoder.step(
        np.array([1, 1, 1]), state, return_attention_scores=True
    )
    assert tuple(scores.shape) == (3, 5)


def test_options_round_trip_and_reach_the_mode():
    decoder = checks.decoder(MODE, attention_units=3, num_layers=2)
    clone = CaptionDecoder.from_config(decoder.get_config())
    assert clone.get_config() == decoder.get_config()
    assert isinstance(clone.conditioning_layer, conditioning.AdaptiveAttention)
    assert clone.conditioning_layer.attention_units == 3


def test_saved_model_returns_equal_logits_and_scores(tmp_path):
    checks.check_saved_model_round_trip(MODE, tmp_path / "adaptive.keras", 5)


def test_mixed_precision_forward():
    checks.check_mixed_precision_forward(MODE)
