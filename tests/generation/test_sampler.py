"""The call contract every sampler shares, checked on each of them."""

import doctest

import hypothesis
import keras
import numpy as np
import pytest
from hypothesis import strategies as st

import keras_captioning
from keras_captioning import generation
from tests.generation.toy_decoders import BANNED
from tests.generation.toy_decoders import END
from tests.generation.toy_decoders import PAD
from tests.generation.toy_decoders import START
from tests.generation.toy_decoders import MarkovChain
from tests.generation.toy_decoders import ToyRNN
from tests.generation.toy_decoders import caption
from tests.generation.toy_decoders import run
from tests.generation.toy_decoders import to_numpy

SAMPLERS = {
    "greedy": lambda: generation.GreedySampler(),
    "beam": lambda: generation.BeamSampler(beam_width=3),
    "sample": lambda: generation.RandomSampler(seed=11),
    "sample_top_k": lambda: generation.RandomSampler(
        temperature=0.5, top_k=3, seed=5
    ),
}
# (batch_size, vocabulary_size, max_length): a few fixed shapes, so that
# jax compiles each sampler once per shape rather than once per example.
SHAPES = [(1, 5, 1), (3, 7, 6)]


@pytest.mark.parametrize("name", sorted(SAMPLERS))
@hypothesis.settings(deadline=None)
@hypothesis.given(seed=st.integers(0, 2**16), shape=st.sampled_from(SHAPES))
def test_outputs_are_well_formed_captions_with_their_log_probs(
    name, seed, shape
):
    batch_size, vocabulary_size, max_length = shape
    toy = MarkovChain(seed, vocabulary_size)
    outputs = run(
        SAMPLERS[name](),
        toy.step,
        toy.params,
        toy.initial_state(batch_size),
        max_length=max_length,
    )

    assert sorted(outputs) == ["extras", "scores", "token_ids"]
    assert outputs["token_ids"].shape == (batch_size, max_length)
    assert outputs["token_ids"].dtype == np.int32
    assert outputs["scores"].shape == (batch_size,)
    assert outputs["scores"].dtype == np.float32
    assert outputs["extras"].shape == (batch_size, max_length, 2)
    for row, score, extras in zip(
        outputs["token_ids"], outputs["scores"], outputs["extras"], strict=True
    ):
        tokens = caption(row)
        assert all(0 <= t < vocabulary_size for t in tokens)
        assert not set(tokens) & set(BANNED)
        # Nothing but padding after the end token.
        assert (row[len(tokens) :] == PAD).all()
        np.testing.assert_allclose(
            score, toy.sequence_log_prob(None, tokens), rtol=1e-5, atol=1e-5
        )
        # The extras of step t are those of the chosen token: its input
        # token and the step number; zeros once the caption has ended.
        np.testing.assert_array_equal(
            extras[: len(tokens), 0], (START,) + tokens[:-1]
        )
        np.testing.assert_array_equal(
            extras[: len(tokens), 1], np.arange(len(tokens))
        )
        assert (extras[len(tokens) :] == 0).all()


def test_batch_rows_are_independent_and_keep_their_order():
    toy = ToyRNN(seed=3, vocabulary_size=9)
    (hidden,) = toy.initial_state(4)
    for sampler in (
        generation.GreedySampler(),
        generation.BeamSampler(beam_width=3, return_all_beams=True),
    ):
        together = run(sampler, toy.step, toy.params, [hidden], max_length=6)
        for i in range(4):
            alone = run(
                sampler, toy.step, toy.params, [hidden[i : i + 1]], max_length=6
            )
            np.testing.assert_array_equal(
                together["token_ids"][i], alone["token_ids"][0]
            )
            np.testing.assert_allclose(
                together["scores"][i], alone["scores"][0], rtol=1e-5
            )


def nested_step(params, token_ids, state):
    logits, (hidden,), _ = ToyRNN.step(
        params, token_ids, [state["rnn"]["hidden"]]
    )
    new_state = {"rnn": {"hidden": hidden}, "memory": [state["memory"][0]]}
    return keras.ops.cast(logits, "float16"), new_state, None


def rounded_step(params, token_ids, state):
    """`ToyRNN.step` with float32 logits rounded as float16 rounds them."""
    logits, state, _ = ToyRNN.step(params, token_ids, state)
    logits = keras.ops.cast(keras.ops.cast(logits, "float16"), "float32")
    return logits, state, None


def test_nested_state_and_half_precision_logits():
    toy = ToyRNN(seed=4, vocabulary_size=8)
    (hidden,) = toy.initial_state(2)
    state = {"rnn": {"hidden": hidden}, "memory": [np.ones((2, 3, 4))]}
    for name in sorted(SAMPLERS):
        outputs = run(
            SAMPLERS[name](), nested_step, toy.params, state, max_length=5
        )
        assert sorted(outputs) == ["scores", "token_ids"]
        assert outputs["token_ids"].dtype == np.int32
        assert outputs["scores"].dtype == np.float32
        # The same captions and scores as a float32 run with a plain list
        # state and the same logit values: the nested state reaches each
        # step whole, and the scores are not computed in float16 (which
        # would be off by about 1e-3 per step).
        reference = run(
            SAMPLERS[name](), rounded_step, toy.params, [hidden], max_length=5
        )
        np.testing.assert_array_equal(
            outputs["token_ids"], reference["token_ids"], err_msg=name
        )
        np.testing.assert_allclose(
            outputs["scores"], reference["scores"], atol=1e-5, err_msg=name
        )
        # And close to the unrounded float32 run: float16 moves a logit of a
        # few units by about 2e-3, so 5 steps move a score by at most about
        # 0.02 (here it moves by less than 1e-3).
        exact = run(
            SAMPLERS[name](), ToyRNN.step, toy.params, [hidden], max_length=5
        )
        np.testing.assert_array_equal(
            outputs["token_ids"], exact["token_ids"], err_msg=name
        )
        np.testing.assert_allclose(
            outputs["scores"], exact["scores"], atol=0.01, err_msg=name
        )


def constant_step(params, token_ids, state):
    batch_size = keras.ops.shape(token_ids)[0]
    return keras.ops.tile(params[None], (batch_size, 1)), state, None


def test_pad_and_start_are_banned_by_default_and_an_empty_ban_allows_all():
    # The model prefers pad, then start, then end.
    logits = np.array([5.0, 4.0, 3.0, 0.0, 0.0, 0.0], "float32")
    for name in sorted(SAMPLERS):
        outputs = run(
            SAMPLERS[name](),
            constant_step,
            logits,
            np.zeros((8, 1)),
            max_length=3,
            banned_token_ids=None,
        )
        for row in outputs["token_ids"]:
            assert not {PAD, START} & set(caption(row))
        if name in ("greedy", "beam"):
            assert (outputs["token_ids"][:, 0] == END).all()
    outputs = run(
        generation.GreedySampler(),
        constant_step,
        logits,
        np.zeros((2, 1)),
        max_length=3,
        banned_token_ids=(),
    )
    np.testing.assert_array_equal(outputs["token_ids"], [[PAD] * 3] * 2)


@pytest.mark.skipif(
    keras.backend.backend() == "jax",
    reason="jax traces the loop body once, so calls cannot be counted",
)
def test_loop_stops_when_every_caption_has_ended():
    table = np.full((5, 5), -20.0, "float32")
    table[START, 4], table[START, END] = 0.0, -3.0
    table[4, END] = 0.0
    for sampler in (
        generation.GreedySampler(),
        generation.BeamSampler(beam_width=2),
    ):
        calls = []

        def step_fn(token_ids, state, calls=calls):
            calls.append(1)
            return keras.ops.take(table, token_ids, axis=0), state, None

        outputs = to_numpy(
            sampler(
                step_fn,
                np.zeros((3, 1)),
                max_length=20,
                banned_token_ids=BANNED,
            )
        )
        np.testing.assert_array_equal(
            outputs["token_ids"][:, :3], [[4, END, PAD]] * 3
        )
        assert len(calls) == 2


def _markov_step(token_ids, state):
    table = np.eye(6, dtype="float32")
    return keras.ops.take(table, token_ids, axis=0), state, None


BAD_CALL_ARGUMENTS = [
    ({"max_length": 0}, ValueError, ["max_length", "0"]),
    ({"max_length": 2.5}, TypeError, ["max_length", "2.5"]),
    ({"end_token_id": -1}, ValueError, ["end_token_id", "-1"]),
    ({"start_token_id": "a"}, TypeError, ["start_token_id", "'a'"]),
    ({"banned_token_ids": (0, 2)}, ValueError, ["end_token_id", "2"]),
    ({"banned_token_ids": 3}, TypeError, ["banned_token_ids", "3"]),
    ({"banned_token_ids": (0, 9)}, ValueError, ["banned_token_ids", "6"]),
    ({"end_token_id": 6}, ValueError, ["end_token_id", "6"]),
    ({"pad_token_id": 7}, ValueError, ["pad_token_id", "7"]),
]


def test_bad_call_arguments_are_named_in_the_error():
    for name in sorted(SAMPLERS):
        sampler = SAMPLERS[name]()
        for kwargs, error, words in BAD_CALL_ARGUMENTS:
            with pytest.raises(error) as info:
                sampler(_markov_step, np.zeros((2, 1)), **kwargs)
            for word in words:
                assert word in str(info.value), (name, kwargs, info.value)


def test_bad_step_functions_and_states_are_reported():
    state = np.zeros((2, 1))
    for name in sorted(SAMPLERS):
        sampler = SAMPLERS[name]()
        with pytest.raises(TypeError, match="step_fn"):
            sampler("not callable", state)
        with pytest.raises(ValueError, match="at least one tensor"):
            sampler(_markov_step, {})
        with pytest.raises(ValueError, match="same leading"):
            sampler(_markov_step, [state, np.zeros((3, 1))])
        with pytest.raises(TypeError, match=r"\(logits, new_state, extras\)"):
            sampler(lambda t, s: (_markov_step(t, s)[0], s), state)
        with pytest.raises(ValueError, match="same nested structure"):
            sampler(lambda t, s: (_markov_step(t, s)[0], [s], None), state)
        with pytest.raises(ValueError, match="shape of every state"):
            sampler(lambda t, s: (_markov_step(t, s)[0], s[:, :0], None), state)
        with pytest.raises(ValueError, match="vocabulary_size"):
            sampler(lambda t, s: (keras.ops.ones((7,)), s, None), state)
        with pytest.raises(ValueError, match="extras"):
            sampler(
                lambda t, s: (_markov_step(t, s)[0], s, keras.ops.ones((2,))),
                state,
            )


@pytest.mark.skipif(
    keras.backend.backend() == "jax",
    reason="each eager jax call compiles its loop (seconds); the code the "
    "examples use runs jitted in the property tests",
)
def test_docstring_examples_run():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    globs = {"keras": keras, "np": np, "keras_captioning": keras_captioning}
    examples = 0
    for obj in (
        generation.Sampler,
        generation.GreedySampler,
        generation.BeamSampler,
        generation.RandomSampler,
        generation.get,
    ):
        for test in finder.find(obj, globs=dict(globs)):
            examples += len(test.examples)
            runner.run(test)
    assert examples > 0
    assert runner.failures == 0
