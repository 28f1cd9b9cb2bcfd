import hypothesis
import keras
import numpy as np
from hypothesis import strategies as st

from keras_captioning import generation
from tests.generation.toy_decoders import BANNED
from tests.generation.toy_decoders import END
from tests.generation.toy_decoders import PAD
from tests.generation.toy_decoders import ToyRNN
from tests.generation.toy_decoders import caption
from tests.generation.toy_decoders import run


@hypothesis.settings(deadline=None)
@hypothesis.given(
    seed=st.integers(0, 2**16),
    shape=st.sampled_from([(1, 5, 1), (3, 9, 7)]),
)
def test_each_token_is_the_most_likely_allowed_one(seed, shape):
    batch_size, vocabulary_size, max_length = shape
    toy = ToyRNN(seed, vocabulary_size)
    state = toy.initial_state(batch_size)
    outputs = run(
        generation.GreedySampler(),
        toy.step,
        toy.params,
        state,
        max_length=max_length,
    )
    allowed = np.setdiff1d(np.arange(vocabulary_size), BANNED)
    for row_state, row, score in zip(
        toy.row_states(state),
        outputs["token_ids"],
        outputs["scores"],
        strict=True,
    ):
        tokens = caption(row)
        assert len(tokens) == max_length or tokens[-1] == END
        for i, token in enumerate(tokens):
            log_probs = toy.next_log_probs(row_state, tokens[:i])
            # Float32 against float64: allow a rounding-sized margin.
            assert log_probs[token] >= log_probs[allowed].max() - 1e-5
        np.testing.assert_allclose(
            score,
            toy.sequence_log_prob(row_state, tokens),
            rtol=1e-5,
            atol=1e-5,
        )


def scheduled_step(schedule, token_ids, state):
    # Row b reads logits schedule[b, step], whatever the tokens.
    step = state["step"]
    logits = keras.ops.take_along_axis(
        schedule, keras.ops.cast(step, "int32")[:, :, None], axis=1
    )[:, 0]
    return logits, {"step": step + 1}, logits[:, :2]


def test_ended_rows_are_frozen_while_others_go_on():
    # Row 0 ends at step 2, row 1 at step 4, row 2 never.
    vocabulary_size, max_length = 6, 5
    wanted = np.array([[4, END, 5, 5, 5], [5, 4, 4, END, 4], [4, 4, 5, 5, 4]])
    rng = np.random.default_rng(0)
    schedule = rng.normal(size=(3, max_length, vocabulary_size)) * 0.1
    for row in range(3):
        schedule[row, np.arange(max_length), wanted[row]] += 3.0
    schedule = schedule.astype("float32")

    outputs = run(
        generation.GreedySampler(),
        scheduled_step,
        schedule,
        {"step": np.zeros((3, 1), "int32")},
        max_length=max_length,
    )
    np.testing.assert_array_equal(
        outputs["token_ids"],
        [[4, END, PAD, PAD, PAD], [5, 4, 4, END, PAD], wanted[2]],
    )
    log_probs = schedule - np.log(np.exp(schedule).sum(-1, keepdims=True))
    for row, length in enumerate([2, 4, 5]):
        expected = log_probs[row, np.arange(length), wanted[row, :length]]
        np.testing.assert_allclose(
            outputs["scores"][row], expected.sum(), rtol=1e-5
        )
        np.testing.assert_allclose(
            outputs["extras"][row, :length], schedule[row, :length, :2]
        )
        assert (outputs["extras"][row, length:] == 0).all()
