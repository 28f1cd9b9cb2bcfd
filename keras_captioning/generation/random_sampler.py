import math

import keras
from keras import ops

from keras_captioning.generation.sampler import Sampler


class RandomSampler(Sampler):
    """Generates captions by sampling each token from the model.

    Each step draws the next token from `softmax(logits / temperature)`
    over the allowed tokens, restricted with `top_k` to the `top_k` most
    likely of them and with `top_p` (nucleus sampling, Holtzman et al.
    2020) to the smallest set of most likely tokens whose probabilities add
    up to `top_p` or more (after temperature and `top_k`). `top_k=1` is
    greedy decoding.

    All randomness of a call, one uniform number per caption and step, is
    drawn before the loop and the token read off the cumulative
    distribution, so the loop holds no random state and compiles on every
    backend. An integer `seed` gives the same captions for the same inputs
    at every call. With `seed=None` the sampler owns a
    `keras.random.SeedGenerator`, `seed_generator`, that each call draws
    from; under `jax.jit` its state must be threaded through like any Keras
    variable (track it on a layer, or call inside `keras.StatelessScope`).

    Args:
        temperature: positive float. Divides the logits before sampling.
            Defaults to `1.0`.
        top_k: int or `None`. Sample among the `top_k` most likely allowed
            tokens only; `None` is off. Defaults to `None`.
        top_p: float in `(0, 1]` or `None`. Sample within the nucleus (ties
            with its least likely token are kept too); `None` or `1.0` is
            off. Defaults to `None`.
        seed: int or `None`. The same seed gives the same tokens. Defaults
            to `None`.
        **controls: the decoding controls of
            `keras_captioning.generation.Sampler`; they act before
            temperature, `top_k` and `top_p`.

    Call arguments:
        The arguments of `keras_captioning.generation.Sampler`.

    Returns:
        The outputs of `keras_captioning.generation.Sampler`. The scores
        are the log-probabilities under the model itself, not under the
        tempered or truncated distribution, so they compare with the other
        samplers' scores.

    Example:
    >>> # Draws from a bigram model over pad, start, end, "a" and "b".
    >>> table = np.log(np.array([[.2] * 5, [.1, .1, .15, .6, .05], [.2] * 5,
    ...     [.1, .1, .2, .1, .5], [.1, .1, .7, .05, .05]], "float32"))
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

    def __init__(
        self, temperature=1.0, top_k=None, seed=None, top_p=None, **controls
    ):
        self._set_options(locals())
        super().__init__(**controls)
        self.seed_generator = (
            keras.random.SeedGenerator() if seed is None else None
        )

    def draw_noise(self, batch_size, max_length):
        return keras.random.uniform(
            (batch_size, max_length),
            dtype="float32",
            seed=self.seed if self.seed is not None else self.seed_generator,
        )

    def compute_probabilities(self, logits, token_ids):
        logits = logits / self.temperature
        vocabulary_size = logits.shape[-1]
        if self.top_k is not None and (
            vocabulary_size is None or self.top_k < vocabulary_size
        ):
            # Keep the `top_k` largest logits (ties at the k-th may keep a
            # few more); the others get probability 0.
            kth_largest = ops.top_k(logits, k=self.top_k)[0][:, -1:]
            logits = ops.where(logits < kth_largest, -math.inf, logits)
        probabilities = ops.softmax(logits, axis=-1)
        if self.top_p is None or self.top_p >= 1.0:
            return probabilities
        # The nucleus, sorted by `top_k` (no argsort): a token is kept
        # while the mass before it is below `top_p`, and so is every token
        # at least as likely as the least likely kept one.
        size = probabilities.shape[-1] or ops.shape(probabilities)[-1]
        ordered = ops.top_k(probabilities, k=size)[0]
        mass_before = ops.cumsum(ordered, axis=-1) - ordered
        smallest_kept = ops.min(
            ops.where(mass_before < self.top_p, ordered, 2.0),
            axis=-1,
            keepdims=True,
        )
        return ops.where(probabilities >= smallest_kept, probabilities, 0.0)

    def get_next_token(self, probabilities, noise):
        # Inverse transform sampling: the first token whose cumulative
        # probability reaches `(1 - u) * total`, with `1 - u` in (0, 1]:
        # that token exists and has a non-zero probability, even rounded.
        cumulative = ops.cumsum(probabilities, axis=-1)
        threshold = (1.0 - noise) * cumulative[:, -1]
        return ops.sum(
            ops.cast(ops.less(cumulative, threshold[:, None]), "int32"),
            axis=-1,
        )
