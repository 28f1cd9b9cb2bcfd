import keras
from keras import ops

from keras_captioning import _validation
from keras_captioning.generation import _loop
from keras_captioning.generation.sampler import Sampler


class BeamSampler(Sampler):
    """Generates captions by beam search.

    Keeps the `beam_width` most likely partial captions of every image. At
    each step every beam proposes each allowed token; the `beam_width` best
    extensions by summed log-probability survive, and the decoder state of
    every survivor is taken from its parent beam. At the first step only one
    beam per image is live, so the beams start out distinct. A beam that
    has produced the end token is frozen: it keeps its score, extends with
    `pad_token_id` at no cost and still competes for a place among the
    beams. The loop stops once every beam has ended, after `max_length`
    steps at most. With `beam_width=1` this is exactly greedy decoding.

    The finished beams are ranked by `log_prob / ((5 + length) / 6) **
    length_penalty` (the GNMT length normalisation), where `length` counts
    the generated tokens, end token included. The penalty only ranks the
    final beams; the search itself compares summed log-probabilities.
    `length_penalty=0` ranks by the raw log-probability; larger values
    favour longer captions.

    When fewer distinct captions exist than beams (a tiny vocabulary or a
    short `max_length`), the surplus beams are all `pad_token_id` with a
    score of -inf, ranked last.

    Args:
        beam_width: int. Number of beams kept per image. Defaults to `3`.
        length_penalty: float. Exponent `alpha` of the length normalisation
            above. Defaults to `0.0`.
        return_all_beams: bool. Return every beam, best first, instead of
            the best one only. Defaults to `False`.

    Call arguments:
        step_fn: callable `step_fn(token_ids, state) -> (logits, new_state,
            extras)`, see `keras_captioning.generation.Sampler`. It receives
            `batch * beam_width` rows: row `b * beam_width + j` is beam `j`
            of image `b`.
        initial_state: tensor or nested structure of tensors with the batch
            as leading dimension; each is repeated `beam_width` times along
            axis 0 before the first step.
        start_token_id: int. Defaults to `1`.
        end_token_id: int. Defaults to `2`.
        max_length: int. Defaults to `21`.
        banned_token_ids: sequence of ints or `None` (bans the pad and start
            tokens). Defaults to `None`.
        pad_token_id: int. Defaults to `0`.
        force_end_token: bool. Only the end token at the last position.
            Defaults to `False`.

    Returns:
        A dict with `"token_ids"` int32 `(batch, max_length)`, `"scores"`
        float32 `(batch,)` (the ranking score, length penalty included) and,
        when `step_fn` returns extras, `"extras"` `(batch, max_length,
        ...)`. With `return_all_beams=True` every entry gains a beam axis
        after the batch axis: `(batch, beam_width, max_length)`, `(batch,
        beam_width)` and `(batch, beam_width, max_length, ...)`, sorted best
        first.

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
    >>> sampler = keras_captioning.generation.BeamSampler(
    ...     beam_width=2, return_all_beams=True
    ... )
    >>> outputs = sampler(step_fn, np.zeros((1, 1)), max_length=4)
    >>> keras.ops.convert_to_numpy(outputs["token_ids"]).tolist()
    [[[3, 4, 2, 0], [2, 0, 0, 0]]]
    >>> print(np.round(keras.ops.convert_to_numpy(outputs["scores"]), 3))
    [[-1.561 -1.897]]
    """

    def __init__(
        self, beam_width=3, length_penalty=0.0, return_all_beams=False
    ):
        self.beam_width = _validation.check_int("beam_width", beam_width)
        self.length_penalty = _validation.check_float(
            "length_penalty", length_penalty
        )
        self.return_all_beams = _validation.check_bool(
            "return_all_beams", return_all_beams
        )

    def get_config(self):
        return {
            "beam_width": self.beam_width,
            "length_penalty": self.length_penalty,
            "return_all_beams": self.return_all_beams,
        }

    def generate(
        self,
        step_fn,
        initial_state,
        start_token_id,
        end_token_id,
        max_length,
        banned_token_ids,
        pad_token_id,
        force_end_token,
    ):
        width = self.beam_width
        # Row `b * width + j` is beam `j` of image `b`.
        state = keras.tree.map_structure(
            lambda x: ops.repeat(x, width, axis=0), initial_state
        )
        rows = self._batch_size(initial_state) * width

        first_token_ids = ops.full((rows,), start_token_id, "int32")
        logits, state, extras = self._call_step_fn(
            step_fn,
            first_token_ids,
            state,
            end_token_id=end_token_id,
            banned_token_ids=banned_token_ids,
            pad_token_id=pad_token_id,
        )
        mask = _loop.token_mask(
            logits, banned_token_ids, end_token_id, force_end_token
        )
        vocabulary_size = logits.shape[-1]
        if vocabulary_size is None:
            raise ValueError(
                "Beam search needs the vocabulary size to be known when the "
                "loop is traced: `step_fn` must return logits with a static "
                f"last dimension. Received logits of shape {logits.shape}"
            )
        vocabulary = ops.arange(vocabulary_size, dtype="int32")
        # A finished beam may only extend with pad, at no cost.
        pad_only = ops.where(
            ops.equal(vocabulary, pad_token_id), 0.0, _loop.IMPOSSIBLE
        )[None, :]
        image_offsets = ops.arange(rows, dtype="int32") // width * width

        def advance(index, logits, extras, carry, state):
            log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
            log_probs = ops.where(
                mask(index, max_length), _loop.IMPOSSIBLE, log_probs
            )
            log_probs = ops.where(carry["done"][:, None], pad_only, log_probs)
            candidates = ops.reshape(
                carry["scores"][:, None] + log_probs,
                (-1, width * vocabulary_size),
            )
            scores, flat_indices = ops.top_k(candidates, k=width)
            scores = ops.reshape(scores, (-1,))
            flat_indices = ops.cast(ops.reshape(flat_indices, (-1,)), "int32")
            chosen = flat_indices % vocabulary_size
            parents = image_offsets + flat_indices // vocabulary_size

            def reorder(x):
                return ops.take(x, parents, axis=0)

            # Fewer live candidates than beams: the surplus beams become
            # empty, finished captions that can never outrank a real one.
            surplus = ops.equal(scores, _loop.IMPOSSIBLE)
            frozen = ops.logical_or(reorder(carry["done"]), surplus)
            chosen = ops.where(frozen, pad_token_id, chosen)
            token_ids = ops.where(
                surplus[:, None], pad_token_id, reorder(carry["token_ids"])
            )
            steps = ops.cast(ops.logical_not(frozen), "int32")
            extras_buffer = carry["extras"]
            if extras is not None:
                extras_buffer = _loop.write_at(
                    _loop.zero_where(surplus, reorder(extras_buffer)),
                    index,
                    _loop.zero_where(frozen, reorder(extras)),
                )
            carry = {
                "token_ids": _loop.write_at(token_ids, index, chosen),
                "last": chosen,
                "done": ops.logical_or(frozen, ops.equal(chosen, end_token_id)),
                "scores": scores,
                "lengths": ops.where(
                    surplus, 0, reorder(carry["lengths"]) + steps
                ),
                "extras": extras_buffer,
            }
            return carry, keras.tree.map_structure(reorder, state)

        # Only beam 0 of each image is live at the first step, so the first
        # step proposes `width` different tokens rather than `width` copies.
        is_first_beam = ops.equal(ops.arange(rows, dtype="int32") % width, 0)
        carry = {
            "token_ids": _loop.empty_buffer(
                first_token_ids, max_length, fill=pad_token_id
            ),
            "last": first_token_ids,
            "done": ops.zeros((rows,), "bool"),
            "scores": ops.cast(
                ops.where(is_first_beam, 0.0, _loop.IMPOSSIBLE), "float32"
            ),
            "lengths": ops.zeros((rows,), "int32"),
            "extras": _loop.empty_buffer(extras, max_length),
        }
        carry = _loop.run_loop(
            step_fn, logits, state, extras, carry, advance, max_length
        )

        scores = ops.reshape(carry["scores"], (-1, width))
        if self.length_penalty != 0.0:
            lengths = ops.reshape(carry["lengths"], (-1, width))
            scores = scores / ops.power(
                (5.0 + ops.cast(lengths, "float32")) / 6.0, self.length_penalty
            )
        kept = width if self.return_all_beams else 1
        ranking = _loop.best_indices(scores, k=kept)

        def select(x):
            # (rows, ...) -> (batch, kept beams, ...), best first.
            x = ops.reshape(x, (-1, width) + tuple(x.shape[1:]))
            index = ranking
            for _ in range(len(x.shape) - 2):
                index = ops.expand_dims(index, -1)
            x = ops.take_along_axis(x, index, axis=1)
            return x if self.return_all_beams else x[:, 0]

        outputs = {
            "token_ids": select(carry["token_ids"]),
            "scores": select(ops.reshape(scores, (-1,))),
        }
        if extras is not None:
            outputs["extras"] = select(carry["extras"])
        return outputs
