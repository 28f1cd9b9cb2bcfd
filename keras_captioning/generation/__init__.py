"""Decoding loops that turn a decoder step function into captions.

A sampler owns the loop; the model hands it one function,
`step_fn(token_ids, state) -> (logits, new_state, extras)`, that advances the
decoder by one token. See `Sampler` for the call contract.
"""

from keras_captioning.generation._words import DEFAULT_BAD_ENDINGS
from keras_captioning.generation._words import word_controls
from keras_captioning.generation.beam_sampler import BeamSampler
from keras_captioning.generation.get_sampler import get
from keras_captioning.generation.get_sampler import get_sampler
from keras_captioning.generation.greedy_sampler import GreedySampler
from keras_captioning.generation.random_sampler import RandomSampler
from keras_captioning.generation.sampler import Sampler

__all__ = [
    "DEFAULT_BAD_ENDINGS",
    "BeamSampler",
    "GreedySampler",
    "RandomSampler",
    "Sampler",
    "get",
    "get_sampler",
    "word_controls",
]
