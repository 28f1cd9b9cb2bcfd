import hypothesis
import keras
import numpy as np
import pytest
from hypothesis import strategies as st

from keras_captioning import generation
from tests.generation.toy_decoders import BANNED
from tests.generation.toy_decoders import END
from tests.generation.toy_decoders import PAD
from tests.generation.toy_decoders import START
from tests.generation.toy_decoders import MarkovChain
from tests.generation.toy_decoders import ToyRNN
from tests.generation.toy_decoders import all_captions
from tests.generation.toy_decoders import caption
from tests.generation.toy_decoders import run


@hypothesis.settings(deadline=None)
@hypothesis.given(seed=st.integers(0, 2**16))
def test_beam_width_one_is_greedy_decoding(seed):
    batch_size, vocabulary_size, max_length = 3, 9, 7
    toy = ToyRNN(seed, vocabulary_size)
    state = toy.initial_state(batch_size)
    beam, greedy = (
        run(sampler, toy.step, toy.params, state, max_length=max_length)
        for sampler in (
            generation.BeamSampler(beam_width=1),
            generation.GreedySampler(),
        )
    )
    np.testing.assert_array_equal(beam["token_ids"], greedy["token_ids"])
    np.testing.assert_array_equal(beam["scores"], greedy["scores"])


def gnmt_score(log_prob, length, alpha):
    return log_prob / ((5.0 + length) / 6.0) ** alpha


@hypothesis.settings(deadline=None)
@hypothesis.given(
    seed=st.integers(0, 2**16),
    # (number of words, max_length, length penalty)
    setting=st.sampled_from([(2, 3, 0.0), (2, 3, 1.5), (3, 2, 0.6)]),
)
def test_a_beam_per_caption_ranks_every_caption_exactly(seed, setting):
    # With one beam per possible caption, beam search is exhaustive: it
    # must return every caption, each with its true score, best first. The
    # first steps have fewer hypotheses than beams, so surplus beams and
    # the reordering of the recurrent state are both exercised.
    num_words, max_length, length_penalty = setting
    toy = ToyRNN(seed, vocabulary_size=4 + num_words)
    captions = all_captions(toy.vocabulary_size, max_length)
    state = toy.initial_state(2)
    sampler = generation.BeamSampler(
        beam_width=len(captions),
        length_penalty=length_penalty,
        return_all_beams=True,
    )
    outputs = run(sampler, toy.step, toy.params, state, max_length=max_length)
    for b, row_state in enumerate(toy.row_states(state)):

        def true_score(c, row_state=row_state):
            log_prob = toy.sequence_log_prob(row_state, c)
            return gnmt_score(log_prob, len(c), length_penalty)

        found = [caption(row) for row in outputs["token_ids"][b]]
        assert sorted(found) == sorted(captions)
        expected = sorted(map(true_score, captions), reverse=True)
        np.testing.assert_allclose(
            outputs["scores"][b], expected, rtol=1e-4, atol=1e-5
        )
        np.testing.assert_allclose(
            outputs["scores"][b],
            [true_score(c) for c in found],
            rtol=1e-4,
            atol=1e-5,
        )


@hypothesis.settings(deadline=None)
@hypothesis.given(
    seed=st.integers(0, 2**16),
    # (batch_size, vocabulary_size, beam_width, max_length)
    shape=st.sampled_from([(1, 6, 2, 1), (3, 9, 4, 6)]),
)
def test_all_beams_are_distinct_sorted_and_carry_their_extras(seed, shape):
    batch_size, vocabulary_size, beam_width, max_length = shape
    toy = MarkovChain(seed, vocabulary_size)
    state = toy.initial_state(batch_size)
    outputs, best = (
        run(
            generation.BeamSampler(beam_width, return_all_beams=all_beams),
            toy.step,
            toy.params,
            state,
            max_length=max_length,
        )
        for all_beams in (True, False)
    )
    assert outputs["token_ids"].shape == (batch_size, beam_width, max_length)
    assert outputs["scores"].shape == (batch_size, beam_width)
    assert outputs["extras"].shape == (batch_size, beam_width, max_length, 2)
    np.testing.assert_array_equal(best["token_ids"], outputs["token_ids"][:, 0])
    np.testing.assert_array_equal(best["scores"], outputs["scores"][:, 0])
    np.testing.assert_array_equal(best["extras"], outputs["extras"][:, 0])
    for b in range(batch_size):
        scores = outputs["scores"][b]
        assert (np.diff(scores) <= 0).all()
        captions = [caption(row) for row in outputs["token_ids"][b]]
        assert len(set(captions)) == beam_width
        for c, score, extras in zip(
            captions, scores, outputs["extras"][b], strict=True
        ):
            assert not set(c) & set(BANNED)
            np.testing.assert_allclose(
                score, toy.sequence_log_prob(None, c), rtol=1e-5, atol=1e-5
            )
            np.testing.assert_array_equal(
                extras[: len(c), 0], (START,) + c[:-1]
            )
            assert (extras[len(c) :] == 0).all()


def test_surplus_beams_are_empty_and_ranked_last():
    # Two words and max_length=1 allow three captions: "w1", "w2", "end".
    toy = MarkovChain(seed=1, vocabulary_size=6)
    outputs = run(
        generation.BeamSampler(beam_width=5, return_all_beams=True),
        toy.step,
        toy.params,
        toy.initial_state(2),
        max_length=1,
    )
    assert np.isfinite(outputs["scores"][:, :3]).all()
    assert sorted(outputs["token_ids"][0, :3, 0].tolist()) == [END, 4, 5]
    assert (outputs["scores"][:, 3:] == -np.inf).all()
    assert (outputs["token_ids"][:, 3:] == PAD).all()
    assert (outputs["extras"][:, 3:] == 0).all()


def bigram_step(table, token_ids, state):
    return keras.ops.take(table, token_ids, axis=0), state, None


def test_length_penalty_prefers_longer_captions():
    # "end" now (p=0.4) against "w end" (0.6 * 0.55 = 0.33).
    table = np.full((5, 5), 1e-3)
    table[START, [END, 4]] = [0.4, 0.6]
    table[4, [END, 4]] = [0.55, 0.45]
    table = np.log(table / table.sum(-1, keepdims=True)).astype("float32")
    for length_penalty, expected in [(0.0, [END, PAD]), (2.0, [4, END])]:
        sampler = generation.BeamSampler(4, length_penalty=length_penalty)
        outputs = run(
            sampler, bigram_step, table, np.zeros((1, 1)), max_length=2
        )
        np.testing.assert_array_equal(outputs["token_ids"], [expected])


def test_bad_arguments_are_named_in_the_error():
    for kwargs, error, words in [
        ({"beam_width": 0}, ValueError, ["beam_width", "0"]),
        ({"beam_width": 2.0}, TypeError, ["beam_width", "2.0"]),
        ({"length_penalty": float("nan")}, ValueError, ["length_penalty"]),
        ({"length_penalty": "1"}, TypeError, ["length_penalty", "'1'"]),
        ({"return_all_beams": 1}, TypeError, ["return_all_beams", "1"]),
    ]:
        with pytest.raises(error) as info:
            generation.BeamSampler(**kwargs)
        for word in words:
            assert word in str(info.value)
