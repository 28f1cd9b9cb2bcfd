"""Samplers written by overriding one public hook.

The two samplers below are the examples of docs/generation.rst (included
from this file, so the documentation runs as a test): min-p sampling
overrides `compute_probabilities` of `RandomSampler`, an additive presence
penalty overrides `compute_probabilities` of `GreedySampler`. The built-in
nucleus sampling (`RandomSampler(top_p=...)`) is tested here against the
exact distribution too.
"""

import keras
import numpy as np
import pytest

from keras_captioning import generation
from tests.generation.toy_decoders import BANNED
from tests.generation.toy_decoders import END
from tests.generation.toy_decoders import MarkovChain
from tests.generation.toy_decoders import ToyRNN
from tests.generation.toy_decoders import caption
from tests.generation.toy_decoders import log_softmax
from tests.generation.toy_decoders import run


class MinPSampler(generation.RandomSampler):
    """Samples among the tokens at least `min_p` times as likely as the
    most likely one (min-p sampling)."""

    def __init__(self, min_p=0.1, **kwargs):
        super().__init__(**kwargs)
        self.min_p = min_p

    def get_config(self):
        return {**super().get_config(), "min_p": self.min_p}

    def compute_probabilities(self, logits, token_ids):
        probabilities = super().compute_probabilities(logits, token_ids)
        largest = keras.ops.max(probabilities, axis=-1, keepdims=True)
        return keras.ops.where(
            probabilities >= self.min_p * largest, probabilities, 0.0
        )


class PresencePenaltySampler(generation.GreedySampler):
    """Greedy decoding that lowers the logits of the tokens already written
    by a constant (an additive presence penalty)."""

    def __init__(self, penalty=2.0):
        self.penalty = penalty

    def get_config(self):
        return {"penalty": self.penalty}

    def compute_probabilities(self, logits, token_ids):
        vocabulary = keras.ops.arange(logits.shape[-1], dtype="int32")
        # `token_ids` holds -1 where nothing is written yet.
        seen = keras.ops.any(
            keras.ops.equal(token_ids[:, :, None], vocabulary), axis=1
        )
        logits = keras.ops.where(seen, logits - self.penalty, logits)
        return super().compute_probabilities(logits, token_ids)


# One fixed distribution over 8 tokens, whatever the previous token.
FIRST_LOGITS = np.array([0.0, 0.0, 0.5, 0.0, 1.0, 1.5, -0.5, 0.2], "float32")


def constant_step(logits, token_ids, state):
    batch_size = keras.ops.shape(token_ids)[0]
    return keras.ops.tile(logits[None], (batch_size, 1)), state, None


def test_top_p_samples_from_the_nucleus_only():
    num_draws, top_p = 4000, 0.6
    probabilities = FIRST_LOGITS.astype("float64")
    probabilities[list(BANNED)] = -np.inf
    probabilities = np.exp(log_softmax(probabilities))
    order = np.argsort(-probabilities)
    mass_before = np.cumsum(probabilities[order]) - probabilities[order]
    nucleus = order[mass_before < top_p]
    expected = np.zeros(8)
    expected[nucleus] = probabilities[nucleus] / probabilities[nucleus].sum()
    assert 1 < len(nucleus) < 5  # the test means something

    outputs = run(
        generation.RandomSampler(top_p=top_p, seed=3),
        constant_step,
        FIRST_LOGITS,
        np.zeros((num_draws, 1)),
        max_length=1,
    )
    frequencies = np.bincount(outputs["token_ids"][:, 0], minlength=8)
    frequencies = frequencies / num_draws
    assert set(np.flatnonzero(frequencies)) == set(nucleus)
    sigma = np.sqrt(expected * (1 - expected) / num_draws)
    assert (np.abs(frequencies - expected) <= 5 * sigma).all()


def test_a_tiny_top_p_is_greedy_decoding_with_the_model_scores():
    toy = ToyRNN(seed=5, vocabulary_size=9)
    state = toy.initial_state(4)
    greedy = run(generation.GreedySampler(), toy.step, toy.params, state)
    nucleus = run(
        generation.RandomSampler(top_p=1e-6, seed=1),
        toy.step,
        toy.params,
        state,
    )
    np.testing.assert_array_equal(nucleus["token_ids"], greedy["token_ids"])
    np.testing.assert_allclose(nucleus["scores"], greedy["scores"], rtol=1e-5)


def looping_chain():
    """Words 4, 5, 6: each prefers itself, then the next word, then end."""
    toy = MarkovChain(seed=0, vocabulary_size=7)
    table = np.full((7, 7), -5.0, "float32")
    for word in (4, 5, 6):
        table[word, word] = 3.0
        table[word, 4 + (word - 3) % 3] = 2.0
        table[word, END] = 0.5
    table[1, 4] = 3.0
    toy.params["table"] = table
    return toy


def test_min_p_samples_only_the_likely_enough_tokens():
    num_draws, min_p = 2000, 0.5
    probabilities = FIRST_LOGITS.astype("float64")
    probabilities[list(BANNED)] = -np.inf
    probabilities = np.exp(log_softmax(probabilities))
    kept = np.flatnonzero(probabilities >= min_p * probabilities.max())
    assert 1 < len(kept) < 5  # the test means something
    outputs = run(
        MinPSampler(min_p, seed=3),
        constant_step,
        FIRST_LOGITS,
        np.zeros((num_draws, 1)),
        max_length=1,
    )
    assert set(np.unique(outputs["token_ids"][:, 0])) == set(kept)


def test_presence_penalty_stops_the_loops_and_keeps_model_scores():
    toy = looping_chain()
    state = toy.initial_state(2)
    greedy = run(
        generation.GreedySampler(), toy.step, toy.params, state, max_length=6
    )
    assert caption(greedy["token_ids"][0]) == (4,) * 6
    outputs = run(
        PresencePenaltySampler(penalty=100.0),
        toy.step,
        toy.params,
        state,
        max_length=6,
    )
    for row, score in zip(outputs["token_ids"], outputs["scores"]):
        tokens = caption(row)
        assert tokens == (4, 5, 6, END)
        # The penalty chose the tokens; the score is still the model's.
        np.testing.assert_allclose(
            score, toy.sequence_log_prob(None, tokens), rtol=1e-5
        )


@pytest.mark.parametrize(
    "sampler",
    [
        generation.GreedySampler(),
        generation.BeamSampler(beam_width=2),
        generation.RandomSampler(seed=2),
        MinPSampler(0.2, seed=4),
        PresencePenaltySampler(1.5),
    ],
    ids=lambda sampler: type(sampler).__name__,
)
def test_force_end_token_ends_every_caption_at_the_last_position(sampler):
    toy = looping_chain()
    outputs = run(
        sampler,
        toy.step,
        toy.params,
        toy.initial_state(3),
        max_length=3,
        force_end_token=True,
    )
    for row, score in zip(outputs["token_ids"], outputs["scores"]):
        tokens = caption(row)
        assert tokens[-1] == END and len(tokens) <= 3
        np.testing.assert_allclose(
            score, toy.sequence_log_prob(None, tokens), rtol=1e-5
        )


def test_hook_subclasses_keep_their_options_in_the_config():
    # `ImageCaptioner` caches compiled functions on `cache_key`, which
    # holds the config: different options never share a function.
    for make in (
        lambda p: MinPSampler(p, seed=1),
        lambda p: PresencePenaltySampler(p),
    ):
        assert make(0.5).cache_key() == make(0.5).cache_key()
        assert make(0.5).cache_key() != make(0.7).cache_key()
    # Unseeded samplers never share: each has its own seed generator.
    assert MinPSampler(0.5).cache_key() != MinPSampler(0.5).cache_key()
    assert generation.RandomSampler().cache_key() != (
        generation.RandomSampler().cache_key()
    )
