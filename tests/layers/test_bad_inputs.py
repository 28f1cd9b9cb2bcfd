"""Every public entry point of `CaptionDecoder` rejects bad input itself.

Each case names the argument, so the error points at the caller's mistake
instead of surfacing from a backend kernel (a batch mismatch used to fail
inside `LSTMCell` with "Incompatible shapes: [2,2048] vs. [3,2048]").
"""

import numpy as np
import pytest

from keras_captioning.layers import CaptionDecoder
from keras_captioning.layers import conditioning

VOCABULARY_SIZE = 11
IDS = np.array([[1, 4, 2], [1, 5, 2]], "int32")
FEATURES = np.zeros((2, 4, 3), "float32")


def _decoder(**kwargs):
    return CaptionDecoder(
        VOCABULARY_SIZE, **{"embedding_dim": 4, "units": 5, **kwargs}
    )


def _built(**kwargs):
    decoder = _decoder(**kwargs)
    decoder(IDS, FEATURES)
    return decoder


def _state(**kwargs):
    decoder = _built(**kwargs)
    return decoder, decoder.get_initial_state(FEATURES)


CONSTRUCTOR_CASES = [
    ({"vocabulary_size": 1}, ValueError, "vocabulary_size"),
    ({"vocabulary_size": 2.5}, TypeError, "vocabulary_size"),
    ({"embedding_dim": 0}, ValueError, "embedding_dim"),
    ({"units": -3}, ValueError, "units"),
    ({"num_layers": 0}, ValueError, "num_layers"),
    (
        {"conditioning": "attention", "attention_units": 0},
        ValueError,
        "attention_units",
    ),
    ({"cell": "rnn"}, ValueError, "cell"),
    ({"conditioning": "inject"}, ValueError, "conditioning"),
    ({"conditioning": 42}, ValueError, "conditioning"),
    ({"dropout": 1.0}, ValueError, "dropout"),
    ({"dropout": "0.1"}, TypeError, "dropout"),
    (
        {"conditioning": "attention", "attention_gate": "yes"},
        TypeError,
        "attention_gate",
    ),
    (
        {"conditioning": "attention", "attention_regularization": -1.0},
        ValueError,
        "attention_regularization",
    ),
    ({"end_token_id": VOCABULARY_SIZE}, ValueError, "end_token_id"),
    ({"end_token_id": 0}, ValueError, "end_token_id"),
    (
        {"conditioning": "merge", "attention_units": 8},
        ValueError,
        "attention_units",
    ),
    (
        {"conditioning": "init_inject", "attention_gate": False},
        ValueError,
        "attention_gate",
    ),
    (
        {"conditioning": conditioning.get("merge"), "attention_units": 8},
        ValueError,
        "attention_units",
    ),
]


@pytest.mark.parametrize("kwargs, error, message", CONSTRUCTOR_CASES)
def test_constructor_rejects(kwargs, error, message):
    arguments = {"vocabulary_size": VOCABULARY_SIZE, **kwargs}
    with pytest.raises(error, match=message):
        CaptionDecoder(**arguments)


CALL_CASES = {
    "float token ids": (
        lambda: _decoder()(IDS.astype("float32"), FEATURES),
        TypeError,
        "token_ids",
    ),
    "id outside the vocabulary": (
        lambda: _decoder()(IDS + VOCABULARY_SIZE - 2, FEATURES),
        ValueError,
        r"\[0, 10\]",
    ),
    "negative id": (
        lambda: _decoder()(-IDS, FEATURES),
        ValueError,
        "token_ids",
    ),
    "token ids of rank 1": (
        lambda: _decoder()(IDS[0], FEATURES),
        ValueError,
        r"token_ids.*\(batch, steps\)",
    ),
    "token ids of rank 3": (
        lambda: _decoder()(IDS[..., None], FEATURES),
        ValueError,
        r"token_ids.*\(batch, steps\)",
    ),
    "feature map instead of a sequence": (
        lambda: _decoder()(IDS, FEATURES[:, None]),
        ValueError,
        "FeatureToSequence",
    ),
    "pooled features": (
        lambda: _decoder()(IDS, FEATURES[:, 0]),
        ValueError,
        "image_features",
    ),
    "integer features": (
        lambda: _built()(IDS, FEATURES.astype("int32")),
        TypeError,
        "image_features",
    ),
    "feature size other than the built one": (
        lambda: _built()(IDS, np.zeros((2, 4, 5), "float32")),
        ValueError,
        "expected 3, received 5",
    ),
    "batch sizes that disagree": (
        lambda: _decoder()(IDS, np.zeros((3, 4, 3), "float32")),
        ValueError,
        "same batch size",
    ),
    "attention scores from a mode without attention": (
        lambda: _decoder()(IDS, FEATURES, return_attention_scores=True),
        ValueError,
        "return_attention_scores",
    ),
    "initial state before build": (
        lambda: _decoder().get_initial_state(FEATURES),
        ValueError,
        "built",
    ),
    "initial state from pooled features": (
        lambda: _built().get_initial_state(FEATURES[:, 0]),
        ValueError,
        "image_features",
    ),
    "initial state from another feature size": (
        lambda: _built().get_initial_state(np.zeros((2, 4, 6), "float32")),
        ValueError,
        "expected 3, received 6",
    ),
    "step with ids of rank 2": (
        lambda: _decoder_step(IDS),
        ValueError,
        r"token_ids.*\(batch,\)",
    ),
    "step with float ids": (
        lambda: _decoder_step(np.ones((2,), "float32")),
        TypeError,
        "token_ids",
    ),
    "step with an id outside the vocabulary": (
        lambda: _decoder_step(np.array([1, VOCABULARY_SIZE])),
        ValueError,
        "token_ids",
    ),
    "step with a flat state of named tensors": (
        lambda: _decoder_step(
            np.array([1, 1]), {"h_0": FEATURES[:, 0], "c_0": FEATURES[:, 0]}
        ),
        ValueError,
        "'layers'",
    ),
    "step with a list as state": (
        lambda: _decoder_step(np.array([1, 1]), [FEATURES[:, 0]]),
        ValueError,
        "state",
    ),
    "step with a state for another number of layers": (
        lambda: _decoder_step(
            np.array([1, 1]), lambda state: {"layers": state["layers"] * 2}
        ),
        ValueError,
        "1 lists of 2 tensors",
    ),
    "step with a state for another batch size": (
        lambda: _decoder_step(np.array([1, 1, 1])),
        ValueError,
        "same batch size",
    ),
    "step asking for attention scores without attention": (
        lambda: _decoder_step(np.array([1, 1]), return_attention_scores=True),
        ValueError,
        "return_attention_scores",
    ),
}


def _decoder_step(token_ids, state=None, **kwargs):
    decoder, initial_state = _state()
    if callable(state):
        state = state(initial_state)
    return decoder.step(
        token_ids, initial_state if state is None else state, **kwargs
    )


@pytest.mark.parametrize("case", sorted(CALL_CASES))
def test_entry_points_reject(case):
    call, error, message = CALL_CASES[case]
    with pytest.raises(error, match=message):
        call()
