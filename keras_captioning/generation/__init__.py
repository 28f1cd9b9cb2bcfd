"""Decoding loops that turn a decoder step function into captions.

A sampler owns the loop; the model hands it one function,
`step_fn(token_ids, state) -> (logits, new_state, extras)`, that advances the
decoder by one token. See `Sampler` for the call contract.
"""

import inspect

from keras_captioning.generation._words import DEFAULT_BAD_ENDINGS
from keras_captioning.generation._words import word_controls
from keras_captioning.generation.beam_sampler import BeamSampler
from keras_captioning.generation.greedy_sampler import GreedySampler
from keras_captioning.generation.random_sampler import RandomSampler
from keras_captioning.generation.sampler import Sampler

_SAMPLERS = {
    "greedy": GreedySampler,
    "beam": BeamSampler,
    "sample": RandomSampler,
}


def get(identifier, **options):
    """Returns a sampler from its name, or the sampler it is given.

    Args:
        identifier: `"greedy"`, `"beam"` or `"sample"`, or a `Sampler`
            instance, returned unchanged.
        **options: keyword arguments of the named sampler's constructor,
            such as `beam_width=5` for `"beam"` or `temperature=0.8` for
            `"sample"`, and the decoding controls every sampler takes
            (`min_length`, `no_repeat_ngram_size`, `bad_words_ids`, ...).
            Not allowed with a `Sampler` instance, which is already
            configured.

    Returns:
        A `Sampler`.

    Example:
    >>> sampler = keras_captioning.generation.get("beam", beam_width=5)
    >>> sampler.beam_width
    5
    >>> keras_captioning.generation.get(sampler) is sampler
    True
    """
    if isinstance(identifier, Sampler):
        if options:
            raise ValueError(
                "Options can only be given with a sampler name; this "
                f"sampler is already configured. Received: "
                f"identifier={identifier!r}, options={options}"
            )
        return identifier
    if isinstance(identifier, str):
        if identifier not in _SAMPLERS:
            raise ValueError(
                f"Unknown sampler {identifier!r}. Expected one of "
                f"{sorted(_SAMPLERS)} or a `Sampler` instance. "
                f"Received: identifier={identifier!r}"
            )
        sampler_class = _SAMPLERS[identifier]
        accepted = [
            name
            for name in inspect.signature(sampler_class).parameters
            if name not in ("self", "args", "kwargs", "controls")
        ]
        # The decoding controls every sampler takes (`Sampler.__init__`).
        accepted += [
            name
            for name in inspect.signature(Sampler).parameters
            if name not in accepted
        ]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise TypeError(
                f"Unknown option(s) {unknown} for the {identifier!r} "
                "strategy. Its options are "
                f"{accepted or 'none'}. Received: options={options}"
            )
        return sampler_class(**options)
    raise TypeError(
        f"A sampler must be one of {sorted(_SAMPLERS)} or a `Sampler` "
        f"instance. Received: identifier={identifier!r} of type "
        f"{type(identifier).__name__}"
    )


__all__ = [
    "DEFAULT_BAD_ENDINGS",
    "BeamSampler",
    "GreedySampler",
    "RandomSampler",
    "Sampler",
    "get",
    "word_controls",
]
