import hypothesis
import keras
import numpy as np
import pytest
from hypothesis import strategies as st
from toy_decoders import BANNED
from toy_decoders import END
from toy_decoders import PAD
from toy_decoders import START
from toy_decoders import ToyRNN
from toy_decoders import log_softmax
from toy_decoders import to_numpy

from keras_captioning import generation


def generate(sampler, step_fn, state, max_length):
    return to_numpy(
        sampler(
            step_fn,
            state,
            start_token_id=START,
            end_token_id=END,
            max_length=max_length,
            banned_token_ids=BANNED,
            pad_token_id=PAD,
        )
    )


# One fixed distribution over 8 tokens, whatever the previous token: the
# first generated token is a plain draw from it.
FIRST_LOGITS = np.array([0.0, 0.0, 0.5, 0.0, 1.0, 1.5, -0.5, 0.2], "float32")


def fixed_step(token_ids, state):
    batch_size = keras.ops.shape(token_ids)[0]
    return keras.ops.tile(FIRST_LOGITS[None], (batch_size, 1)), state, None


def first_token_frequencies(sampler, num_draws=4000):
    outputs = generate(sampler, fixed_step, np.zeros((num_draws, 1)), 1)
    counts = np.bincount(outputs["token_ids"][:, 0], minlength=8)
    return counts / num_draws


def expected_frequencies(temperature, top_k=None):
    logits = FIRST_LOGITS.astype("float64") / temperature
    logits[list(BANNED)] = -np.inf
    if top_k is not None:
        logits[np.argsort(-logits)[top_k:]] = -np.inf
    return np.exp(log_softmax(logits))


@pytest.mark.parametrize(
    "temperature, top_k", [(1.0, None), (0.4, None), (3.0, None), (1.0, 3)]
)
def test_first_tokens_follow_the_tempered_truncated_distribution(
    temperature, top_k
):
    sampler = generation.RandomSampler(
        temperature=temperature, top_k=top_k, seed=1
    )
    frequencies = first_token_frequencies(sampler)
    expected = expected_frequencies(temperature, top_k)
    assert (frequencies[expected == 0] == 0).all()
    # Five binomial standard deviations: fails by chance about once in
    # a million runs (and the seed is fixed anyway).
    sigma = np.sqrt(expected * (1 - expected) / 4000)
    assert (np.abs(frequencies - expected) <= 5 * sigma).all(), frequencies


def test_temperature_moves_mass_towards_the_most_likely_token():
    cold = first_token_frequencies(generation.RandomSampler(0.3, seed=2))
    hot = first_token_frequencies(generation.RandomSampler(3.0, seed=2))
    assert cold[5] > 0.8 > 0.3 > hot[5]


@hypothesis.settings(deadline=None)
@hypothesis.given(
    seed=st.integers(0, 2**16),
    batch_size=st.integers(1, 3),
    vocabulary_size=st.integers(5, 10),
    max_length=st.integers(1, 7),
    temperature=st.sampled_from([0.5, 1.0, 4.0]),
)
def test_top_k_one_is_greedy_decoding(
    seed, batch_size, vocabulary_size, max_length, temperature
):
    toy = ToyRNN(seed, vocabulary_size)
    state = toy.initial_state(batch_size)
    sampler = generation.RandomSampler(temperature, top_k=1, seed=seed)
    sampled = generate(sampler, toy, state, max_length)
    greedy = generate(generation.GreedySampler(), toy, state, max_length)
    np.testing.assert_array_equal(sampled["token_ids"], greedy["token_ids"])
    np.testing.assert_array_equal(sampled["scores"], greedy["scores"])


def test_the_same_seed_gives_the_same_captions():
    toy = ToyRNN(seed=0, vocabulary_size=12, scale=1.0)
    state = toy.initial_state(64)

    def run(sampler):
        return generate(sampler, toy, state, 8)["token_ids"]

    first = generation.RandomSampler(seed=123)
    np.testing.assert_array_equal(run(first), run(first))
    np.testing.assert_array_equal(
        run(first), run(generation.RandomSampler(seed=123))
    )
    assert (run(first) != run(generation.RandomSampler(seed=124))).any()


def test_without_a_seed_every_call_draws_afresh():
    toy = ToyRNN(seed=0, vocabulary_size=12, scale=1.0)
    state = toy.initial_state(64)
    sampler = generation.RandomSampler()
    first = generate(sampler, toy, state, 8)["token_ids"]
    second = generate(sampler, toy, state, 8)["token_ids"]
    assert (first != second).any()


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
