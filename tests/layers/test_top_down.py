"""The `"top_down"` conditioning mode (Anderson et al., 2018).

What every mode does (shapes, padding, step == teacher forcing, saving,
the layer harness) is tested for all registered modes in
`test_caption_decoder.py`; these tests cover what is particular to this
mode: its two recurrent parts, its attention and its options.
"""

import keras
import numpy as np
import pytest

from keras_captioning.layers import CaptionDecoder
from keras_captioning.layers import conditioning
from tests.layers import attentive_mode_checks as checks

MODE = "top_down"


def test_is_registered():
    assert MODE in conditioning.names()
    assert isinstance(conditioning.get(MODE), conditioning.TopDown)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_attention_weights_of_steps_equal_the_teacher_forced_ones(
    cell, num_layers
):
    decoder = checks.decoder(MODE, cell=cell, num_layers=num_layers)
    _, weights = checks.check_steps_equal_teacher_forcing(
        decoder, checks.captions(), checks.features()
    )
    assert weights.shape == (3, 5, 4)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_num_layers_is_the_depth_of_the_language_stack(cell):
    decoder = checks.decoder(MODE, cell=cell, num_layers=3)
    decoder(checks.captions(), checks.features())
    state = decoder.get_initial_state(checks.features())
    per_layer = 2 if cell == "lstm" else 1
    assert len(state["layers"]) == 3
    assert [len(layer) for layer in state["layers"]] == [per_layer] * 3
    assert len(state["attention_layer"]) == 1
    assert len(state["attention_layer"][0]) == per_layer
    # The image's mean and keys are computed once, not at every step.
    assert tuple(state["image"]["mean"].shape) == (3, 5)
    # num_layers language layers plus the attention layer.
    mode = decoder.conditioning_layer
    cells = mode._language_stack.cells + mode._attention_layer.cells
    assert len(cells) == 4
    assert {type(cell_layer).__name__ for cell_layer in cells} == {
        {"lstm": "LSTMCell", "gru": "GRUCell"}[cell]
    }


def test_the_image_drives_the_first_word():
    # Zero initial states: the image reaches the first step only through the
    # mean feature and the attention.
    decoder = checks.decoder(MODE)
    ids = checks.captions()
    first = checks.to_numpy(decoder(ids, checks.features(seed=0)))[:, 0]
    other = checks.to_numpy(decoder(ids, checks.features(seed=1)))[:, 0]
    assert np.abs(first - other).max() > 1e-4


def test_the_attention_follows_the_image_content():
    # Two images that differ only in which step holds a distinct feature:
    # the attention of the first step moves with it.
    decoder = checks.decoder(MODE, units=8)
    decoder(checks.captions(), checks.features())
    features = np.zeros((2, 4, 5), "float32")
    features[0, 1] = features[1, 3] = 3.0
    state = decoder.get_initial_state(features)
    _, _, weights = decoder.step(
        np.array([1, 1]), state, return_attention_scores=True
    )
    weights = checks.to_numpy(weights)
    plain = [0, 2]
    np.testing.assert_allclose(weights[0, plain], weights[1, plain], atol=1e-6)
    assert abs(weights[0, 1] - weights[1, 3]) < 1e-6
    assert abs(weights[0, 1] - weights[0, 0]) > 1e-6


def _reference_logits_and_weights(decoder, ids, features):
    """Anderson et al.'s equations in NumPy, LSTM cells, from the weights."""
    mode, dense = decoder.conditioning_layer, checks.dense
    embeddings = checks.to_numpy(decoder._token_embedding.embeddings)[ids]
    keys = dense(mode._scorer.key_projection, features)
    mean = features.mean(1)
    h1 = c1 = h2 = c2 = np.zeros((len(ids), mode.units), "float32")
    all_logits, all_weights = [], []
    for t in range(ids.shape[1]):
        x1 = np.concatenate([h2, mean, embeddings[:, t]], -1)
        h1, c1 = checks.lstm_step(mode._attention_layer.cells[0], x1, h1, c1)
        query = dense(mode._scorer.query_projection, h1)[:, None]
        scores = dense(mode._scorer.score, np.tanh(keys + query))[..., 0]
        alpha = checks.softmax(scores)
        attended = np.einsum("bk,bkd->bd", alpha, features)
        x2 = np.concatenate([attended, h1], -1)
        h2, c2 = checks.lstm_step(mode._language_stack.cells[0], x2, h2, c2)
        output = h2
        if mode.attended_to_output:
            output = np.concatenate([h2, attended], -1)
        all_logits.append(dense(decoder._logits_projection, output))
        all_weights.append(alpha)
    return np.stack(all_logits, 1), np.stack(all_weights, 1)


@pytest.mark.parametrize("attended_to_output", [True, False])
def test_outputs_follow_the_equations_of_the_paper(attended_to_output):
    # False is the paper's model; True also projects the attended feature.
    mode = conditioning.TopDown(
        attention_units=3, attended_to_output=attended_to_output
    )
    decoder = checks.decoder(mode, units=5)
    ids = np.array([[1, 5, 7, 9], [1, 4, 3, 6]])
    features = checks.features()[:2]
    logits, weights = decoder(ids, features, return_attention_scores=True)
    expected_logits, expected_weights = _reference_logits_and_weights(
        decoder, ids, features
    )
    np.testing.assert_allclose(
        checks.to_numpy(weights), expected_weights, atol=1e-5
    )
    np.testing.assert_allclose(
        checks.to_numpy(logits), expected_logits, atol=1e-5
    )


def test_options_round_trip_and_reach_the_mode():
    decoder = checks.decoder(MODE, attention_units=3, num_layers=2, cell="gru")
    clone = CaptionDecoder.from_config(decoder.get_config())
    assert clone.get_config() == decoder.get_config()
    assert clone.conditioning_layer.attention_units == 3
    assert isinstance(clone.conditioning_layer, conditioning.TopDown)
    paper = conditioning.TopDown(attended_to_output=False)
    clone = CaptionDecoder.from_config(
        checks.decoder(paper, num_layers=2).get_config()
    )
    assert clone.conditioning_layer.attended_to_output is False


@pytest.mark.parametrize("attended_to_output", [True, False])
def test_output_dim_follows_attended_to_output(attended_to_output):
    mode = conditioning.TopDown(attended_to_output=attended_to_output)
    decoder = checks.decoder(mode, units=6)
    decoder(checks.captions(), checks.features())
    feature_dim = checks.features().shape[-1]
    expected = 6 + feature_dim if attended_to_output else 6
    assert mode.output_dim == expected
    assert decoder._logits_projection.kernel.shape[0] == expected


def test_attended_to_output_must_be_a_bool():
    with pytest.raises(TypeError, match="attended_to_output"):
        conditioning.TopDown(attended_to_output="yes")


def test_options_of_other_modes_are_refused():
    with pytest.raises(ValueError, match="attention_gate"):
        checks.decoder(MODE, attention_gate=False)


def test_saved_model_returns_equal_logits_and_weights(tmp_path):
    checks.check_saved_model_round_trip(MODE, tmp_path / "top_down.keras", 4)


def test_mixed_precision_forward():
    checks.check_mixed_precision_forward(MODE)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_projected_attention_input_is_the_cells_own_step(cell):
    # The word and mean-image parts of the attention layer's input are
    # projected before the scan; the rest inside it. The result must be
    # the cell's own update on the concatenated input, `[h2; v_mean; w]`.
    decoder = checks.decoder(MODE, cell=cell)
    decoder(checks.captions(), checks.features())
    mode = decoder.conditioning_layer
    stack = mode._attention_layer
    units, feature_dim = mode.units, mode._feature_dim
    rng = np.random.default_rng(0)
    h2 = rng.normal(size=(3, units)).astype("float32")
    image_mean = rng.normal(size=(3, feature_dim)).astype("float32")
    words = rng.normal(size=(3, mode.embedding_dim)).astype("float32")
    # Backend tensors: a NumPy state times a torch tensor that requires
    # grad would be computed by NumPy, which torch refuses.
    states = [
        [
            keras.ops.convert_to_tensor(
                rng.normal(size=(3, units)).astype("float32")
            )
            for _ in state
        ]
        for state in stack.initial_state(checks.features())
    ]
    expected, expected_states = stack.step(
        np.concatenate([h2, image_mean, words], axis=-1), states
    )
    start = units + feature_dim
    projected = stack.input_projection(words, start) + stack.input_projection(
        image_mean, units, start, use_bias=False
    )
    outputs, new_states = stack.step_projected(h2, projected, states)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(outputs),
        keras.ops.convert_to_numpy(expected),
        atol=1e-5,
    )
    for new, old in zip(new_states[0], expected_states[0]):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(new),
            keras.ops.convert_to_numpy(old),
            atol=1e-5,
        )
