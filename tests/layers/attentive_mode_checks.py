"""Checks shared by the tests of the modes that return attention scores."""

import keras
import numpy as np

from keras_captioning.layers import CaptionDecoder

VOCABULARY_SIZE = 17


def captions():
    """Three rows: full, padded, and a repeated word up to the end."""
    return np.array([[1, 5, 7, 9, 2], [1, 4, 2, 0, 0], [1, 8, 8, 8, 8]])


def features(image_steps=4, feature_dim=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((3, image_steps, feature_dim), "float32")


def decoder(mode, **kwargs):
    options = {"embedding_dim": 4, "units": 6, "conditioning": mode}
    return CaptionDecoder(VOCABULARY_SIZE, **{**options, **kwargs})


def to_numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


def check_steps_equal_teacher_forcing(layer, ids, image_features):
    """Logits and scores of `step` equal those of the whole caption."""
    logits, scores = layer(ids, image_features, return_attention_scores=True)
    logits, scores = to_numpy(logits), to_numpy(scores)
    real = ids != 0
    np.testing.assert_allclose(scores.sum(-1)[real], 1.0, rtol=1e-5)
    state = layer.get_initial_state(image_features)
    for position in range(ids.shape[1]):
        step_logits, state, step_scores = layer.step(
            ids[:, position], state, return_attention_scores=True
        )
        rows = real[:, position]
        np.testing.assert_allclose(
            to_numpy(step_logits)[rows], logits[rows, position], atol=1e-5
        )
        np.testing.assert_allclose(
            to_numpy(step_scores)[rows], scores[rows, position], atol=1e-6
        )
    return logits, scores


def check_saved_model_round_trip(mode, path, score_columns):
    """A model returning logits and scores saves and loads equal."""
    token_ids = keras.Input(shape=(None,), dtype="int32")
    inputs = keras.Input(shape=(4, 5))
    logits, scores = decoder(mode, num_layers=2)(
        token_ids, inputs, return_attention_scores=True
    )
    assert tuple(scores.shape) == (None, None, score_columns)
    model = keras.Model([token_ids, inputs], [logits, scores])
    model.save(path)
    loaded = keras.saving.load_model(path)
    data = [captions(), features()]
    for expected, actual in zip(model(data), loaded(data)):
        np.testing.assert_allclose(
            to_numpy(actual), to_numpy(expected), atol=1e-6
        )


def check_mixed_precision_forward(mode):
    """float16 logits close to float32 ones, scores in float32."""
    reference = decoder(mode)
    ids, image_features = captions(), features()
    expected = to_numpy(reference(ids, image_features))
    layer = decoder(mode, dtype="mixed_float16")
    layer(ids, image_features)
    layer.set_weights(reference.get_weights())
    logits, scores = layer(ids, image_features, return_attention_scores=True)
    assert keras.backend.standardize_dtype(logits.dtype) == "float16"
    assert keras.backend.standardize_dtype(scores.dtype) == "float32"
    real = ids != 0
    np.testing.assert_allclose(
        to_numpy(logits).astype("float32")[real], expected[real], atol=1e-2
    )


# NumPy versions of the layers, for tests of the equations.


def dense(layer, x):
    """`x @ kernel + bias` with the weights of a `Dense` layer."""
    kernel, *bias = (to_numpy(weight) for weight in layer.weights)
    return x @ kernel + (bias[0] if bias else 0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = np.exp(x - x.max(-1, keepdims=True))
    return x / x.sum(-1, keepdims=True)


def lstm_step(cell, x, h, c):
    """One step of a `keras.layers.LSTMCell`: returns `(h, c)`."""
    kernel, recurrent_kernel, bias = (to_numpy(w) for w in cell.weights)
    z = x @ kernel + h @ recurrent_kernel + bias
    i, f, g, o = np.split(z, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c
