import math
import numbers

import keras
from keras import ops

from keras_captioning.generation.sampler import Sampler


class RandomSampler(Sampler):
    """Generates captions by sampling each token from the model.

    Each step draws the next token from `softmax(logits / temperature)`,
    restricted to the allowed tokens and, with `top_k`, to the `top_k` most
    likely of them. Lower temperatures sharpen the distribution towards
    greedy decoding; `top_k=1` is greedy decoding.

    All randomness of a call, one uniform number per caption and step, is
    drawn before the loop and the token is read off the cumulative
    distribution, so the loop holds no random state and compiles on every
    backend. With an integer `seed` every call returns the same captions for
    the same inputs. With `seed=None` the sampler owns a
    `keras.random.SeedGenerator`, `seed_generator`, and each call draws fresh
    numbers from it; under `jax.jit` its state must be threaded through
    like any Keras variable (track it on a layer, or call the sampler inside
    `keras.StatelessScope`), or pass an integer seed.

    Args:
        temperature: positive float. Divides the logits before sampling.
            Defaults to `1.0`.
        top_k: int or `None`. Sample among the `top_k` most likely allowed
            tokens only. `None` samples from the whole vocabulary. Defaults
            to `None`.
        seed: int or `None`. Makes the draws reproducible: the same seed
            gives the same tokens. Defaults to `None`.

    Call arguments:
        step_fn: callable `step_fn(token_ids, state) -> (logits, new_state,
            extras)`, see `keras_captioning.generation.Sampler`.
        initial_state: tensor or nested structure of tensors with the batch
            as leading dimension.
        start_token_id: int. Defaults to `1`.
        end_token_id: int. Defaults to `2`.
        max_length: int. Defaults to `21`.
        banned_token_ids: sequence of ints or `None` (bans the pad and start
            tokens). Defaults to `None`.
        pad_token_id: int. Defaults to `0`.

    Returns:
        A dict with `"token_ids"` int32 `(batch, max_length)`, `"scores"`
        float32 `(batch,)` and, when `step_fn` returns extras, `"extras"`
        `(batch, max_length, ...)`. The scores are the log-probabilities of
        the captions under the model itself (`log_softmax(logits)`), not
        under the tempered or truncated sampling distribution, so they
        compare with the scores of the other samplers.

    Example:
    >>> import numpy as np
    >>> # A bigram model over 5 tokens: pad, start, end, "a", "b".
    >>> table = np.log(np.array([
    ...     [0.2, 0.2, 0.2, 0.2, 0.2],
    ...     [0.1, 0.1, 0.15, 0.6, 0.05],
    ...     [0.2, 0.2, 0.2, 0.2, 0.2],
    ...     [0.1, 0.1, 0.2, 0.1, 0.5],
    ...     [0.1, 0.1, 0.7, 0.05, 0.05],
    ... ], "float32"))
    >>> def step_fn(token_ids, state):
    ...     return keras.ops.take(table, token_ids, axis=0), state, None
    >>> sampler = keras_captioning.generation.RandomSampler(
    ...     temperature=0.7, top_k=2, seed=42
    ... )
    >>> first = sampler(step_fn, np.zeros((3, 1)), max_length=6)
    >>> again = sampler(step_fn, np.zeros((3, 1)), max_length=6)
    >>> np.array_equal(
    ...     keras.ops.convert_to_numpy(first["token_ids"]),
    ...     keras.ops.convert_to_numpy(again["token_ids"]),
    ... )
    True
    """

    def __init__(self, temperature=1.0, top_k=None, seed=None):
        if isinstance(temperature, bool) or not isinstance(
            temperature, numbers.Real
        ):
            raise TypeError(
                "`temperature` must be a positive number. "
                f"Received: temperature={temperature!r} of type "
                f"{type(temperature).__name__}"
            )
        if not (temperature > 0 and math.isfinite(temperature)):
            raise ValueError(
                "`temperature` must be a positive finite number. "
                f"Received: temperature={temperature}"
            )
        if top_k is not None:
            if isinstance(top_k, bool) or not isinstance(
                top_k, numbers.Integral
            ):
                raise TypeError(
                    "`top_k` must be a positive integer or None. "
                    f"Received: top_k={top_k!r} of type {type(top_k).__name__}"
                )
            if top_k < 1:
                raise ValueError(
                    "`top_k` must be a positive integer or None. "
                    f"Received: top_k={top_k}"
                )
            top_k = int(top_k)
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, numbers.Integral)
        ):
            raise TypeError(
                "`seed` must be an integer or None. "
                f"Received: seed={seed!r} of type {type(seed).__name__}"
            )
        self.temperature = float(temperature)
        self.top_k = top_k
        self.seed = None if seed is None else int(seed)
        self.seed_generator = (
            keras.random.SeedGenerator() if seed is None else None
        )

    def get_config(self):
        return {
            "temperature": self.temperature,
            "top_k": self.top_k,
            "seed": self.seed,
        }

    def _draw_noise(self, batch_size, max_length):
        return keras.random.uniform(
            (batch_size, max_length),
            dtype="float32",
            seed=self.seed if self.seed is not None else self.seed_generator,
        )

    def _choose_token_ids(self, log_probs, noise, index):
        # Softmax is shift invariant, so the log-probabilities serve as
        # logits; banned tokens (-inf) get a probability of exactly 0.
        candidates = log_probs / self.temperature
        candidate_ids = None
        vocabulary_size = candidates.shape[-1]
        if self.top_k is not None and (
            vocabulary_size is None or self.top_k < vocabulary_size
        ):
            candidates, candidate_ids = ops.top_k(candidates, k=self.top_k)
        cumulative = ops.cumsum(ops.softmax(candidates, axis=-1), axis=-1)
        uniform = ops.take(noise, index, axis=1)
        # `1 - u` lies in (0, 1], so the threshold is positive and never
        # above the last cumulative value: the first position reaching it
        # exists and has a non-zero probability, even after rounding.
        threshold = (1.0 - uniform) * cumulative[:, -1]
        position = ops.sum(
            ops.cast(ops.less(cumulative, threshold[:, None]), "int32"),
            axis=-1,
        )
        if candidate_ids is None:
            return position
        return ops.take_along_axis(candidate_ids, position[:, None], axis=-1)[
            :, 0
        ]
