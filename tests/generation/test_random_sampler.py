import hypothesis
import keras
import numpy as np
import pytest
from hypothesis import strategies as st

from keras_captioning import generation
from tests.generation.toy_decoders import BANNED
from tests.generation.toy_decoders import ToyRNN
from tests.generation.toy_decoders import log_softmax
from tests.generation.toy_decoders import run

# One fixed distribution over 8 tokens, whatever the previous token: the
# first generated token is a plain draw from it.
FIRST_LOGITS = np.array([0.0, 0.0, 0.5, 0.0, 1.0, 1.5, -0.5, 0.2], "float32")


def constant_step(logits, token_ids, state):
    batch_size = keras.ops.shape(token_ids)[0]
    return keras.ops.tile(logits[None], (batch_size, 1)), state, None


def expected_frequencies(temperature, top_k=None):
    logits = FIRST_LOGITS.astype("float64") / temperature
    logits[list(BANNED)] = -np.inf
    if top_k is not None:
        logits[np.argsort(-logits)[top_k:]] = -np.inf
    return np.exp(log_softmax(logits))


def test_first_tokens_follow_the_tempered_truncated_distribution():
    num_draws = 4000
    for temperature, top_k in [(1.0, None), (0.3, None), (3.0, None), (1, 3)]:
        sampler = generation.RandomSampler(temperature, top_k, seed=1)
        outputs = run(
            sampler,
            constant_step,
            FIRST_LOGITS,
            np.zeros((num_draws, 1)),
            max_length=1,
        )
        counts = np.bincount(outputs["token_ids"][:, 0], minlength=8)
        frequencies = counts / num_draws
        expected = expected_frequencies(temperature, top_k)
        # Five binomial standard deviations: a chance failure is about one
        # in a million, and the seed is fixed anyway.
        sigma = np.sqrt(expected * (1 - expected) / num_draws)
        assert (np.abs(frequencies - expected) <= 5 * sigma).all(), (
            temperature,
            top_k,
            frequencies,
        )
        # The most likely token (5) gains mass as the temperature drops.
        if temperature == 0.3:
            assert frequencies[5] > 0.8
        if temperature == 3.0:
            assert frequencies[5] < 0.3


@hypothesis.settings(deadline=None)
@hypothesis.given(
    seed=st.integers(0, 2**16),
    temperature=st.sampled_from([0.5, 4.0]),
)
def test_top_k_one_is_greedy_decoding(seed, temperature):
    batch_size, vocabulary_size, max_length = 3, 9, 7
    toy = ToyRNN(seed, vocabulary_size)
    state = toy.initial_state(batch_size)
    sampled, greedy = (
        run(sampler, toy.step, toy.params, state, max_length=max_length)
        for sampler in (
            generation.RandomSampler(temperature, top_k=1, seed=0),
            generation.GreedySampler(),
        )
    )
    np.testing.assert_array_equal(sampled["token_ids"], greedy["token_ids"])
    np.testing.assert_array_equal(sampled["scores"], greedy["scores"])


def test_the_same_seed_gives_the_same_captions():
    toy = ToyRNN(seed=0, vocabulary_size=12, scale=1.0)
    state = toy.initial_state(64)

    def sample(sampler):
        return run(sampler, toy.step, toy.params, state, max_length=8)

    first = sample(generation.RandomSampler(seed=123))
    again = sample(generation.RandomSampler(seed=123))
    other = sample(generation.RandomSampler(seed=124))
    np.testing.assert_array_equal(first["token_ids"], again["token_ids"])
    np.testing.assert_array_equal(first["scores"], again["scores"])
    assert (first["token_ids"] != other["token_ids"]).any()


def test_without_a_seed_every_call_draws_afresh():
    toy = ToyRNN(seed=0, vocabulary_size=12, scale=1.0)
    state = toy.initial_state(64)
    sampler = generation.RandomSampler()
    first, second = (
        run(sampler, toy.step, toy.params, state, max_length=8)
        for _ in range(2)
    )
    assert (first["token_ids"] != second["token_ids"]).any()


def test_bad_arguments_are_named_in_the_error():
    for kwargs, error, words in [
        ({"temperature": 0}, ValueError, ["temperature", "0"]),
        ({"temperature": -1.0}, ValueError, ["temperature", "-1.0"]),
        ({"temperature": float("inf")}, ValueError, ["temperature", "inf"]),
        ({"temperature": "hot"}, TypeError, ["temperature", "'hot'"]),
        ({"top_k": 0}, ValueError, ["top_k", "0"]),
        ({"top_k": 2.5}, TypeError, ["top_k", "2.5"]),
        ({"seed": 1.5}, TypeError, ["seed", "1.5"]),
        ({"seed": "7"}, TypeError, ["seed", "'7'"]),
    ]:
        with pytest.raises(error) as info:
            generation.RandomSampler(**kwargs)
        for word in words:
            assert word in str(info.value)
