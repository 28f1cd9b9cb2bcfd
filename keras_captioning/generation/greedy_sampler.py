from keras_captioning.generation import _loop
from keras_captioning.generation.sampler import Sampler


class GreedySampler(Sampler):
    """Generates captions by taking the most likely allowed token each step.

    Deterministic and the cheapest loop: one `step_fn` call per token for the
    whole batch. A caption that has produced the end token is frozen: it gets
    `pad_token_id` from then on and its score stops changing. The loop stops
    as soon as every caption has ended, after `max_length` steps at most.

    Call arguments:
        The arguments of `keras_captioning.generation.Sampler`.

    Returns:
        The outputs of `keras_captioning.generation.Sampler`.

    Example:
    >>> # The bigram model of `Sampler`'s example: pad, start, end, "a", "b".
    >>> table = np.log(np.array([[.2] * 5, [.1, .1, .15, .6, .05], [.2] * 5,
    ...     [.1, .1, .2, .1, .5], [.1, .1, .7, .05, .05]], "float32"))
    >>> def step_fn(token_ids, state):
    ...     return keras.ops.take(table, token_ids, axis=0), state, None
    >>> sampler = keras_captioning.generation.GreedySampler()
    >>> outputs = sampler(
    ...     step_fn, np.zeros((2, 1)), end_token_id=2, max_length=4
    ... )
    >>> keras.ops.convert_to_numpy(outputs["token_ids"]).tolist()
    [[3, 4, 2, 0], [3, 4, 2, 0]]
    >>> print(np.round(keras.ops.convert_to_numpy(outputs["scores"]), 3))
    [-1.561 -1.561]
    """

    def get_next_token(self, probabilities, noise):
        return _loop.best_indices(probabilities)[:, 0]
