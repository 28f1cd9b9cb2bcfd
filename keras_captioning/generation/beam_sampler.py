import math
import numbers

import keras
from keras import ops

from keras_captioning.generation.sampler import _IMPOSSIBLE
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
        if isinstance(beam_width, bool) or not isinstance(
            beam_width, numbers.Integral
        ):
            raise TypeError(
                "`beam_width` must be a positive integer. "
                f"Received: beam_width={beam_width!r} of type "
                f"{type(beam_width).__name__}"
            )
        if beam_width < 1:
            raise ValueError(
                "`beam_width` must be a positive integer. "
                f"Received: beam_width={beam_width}"
            )
        if isinstance(length_penalty, bool) or not isinstance(
            length_penalty, numbers.Real
        ):
            raise TypeError(
                "`length_penalty` must be a finite number. "
                f"Received: length_penalty={length_penalty!r} of type "
                f"{type(length_penalty).__name__}"
            )
        if not math.isfinite(length_penalty):
            raise ValueError(
                "`length_penalty` must be a finite number. "
                f"Received: length_penalty={length_penalty}"
            )
        if not isinstance(return_all_beams, bool):
            raise TypeError(
                "`return_all_beams` must be a bool. "
                f"Received: return_all_beams={return_all_beams!r}"
            )
        self.beam_width = int(beam_width)
        self.length_penalty = float(length_penalty)
        self.return_all_beams = return_all_beams

    def get_config(self):
        return {
            "beam_width": self.beam_width,
            "length_penalty": self.length_penalty,
            "return_all_beams": self.return_all_beams,
        }

    def _generate(
        self,
        step_fn,
        initial_state,
        start_token_id,
        end_token_id,
        max_length,
        banned_token_ids,
        pad_token_id,
    ):
        width = self.beam_width
        batch_size = self._batch_size(initial_state)
        # Row `b * width + j` is beam `j` of image `b`.
        state = keras.tree.map_structure(
            lambda x: ops.repeat(x, width, axis=0), initial_state
        )
        rows = batch_size * width

        first_token_ids = ops.full((rows,), start_token_id, "int32")
        logits, state, extras = self._call_step_fn(
            step_fn,
            first_token_ids,
            state,
            end_token_id=end_token_id,
            banned_token_ids=banned_token_ids,
            pad_token_id=pad_token_id,
        )
        banned_mask = self._banned_mask(logits, banned_token_ids)
        vocabulary_size = logits.shape[-1]
        if vocabulary_size is None:
            raise ValueError(
                "Beam search needs the vocabulary size to be known when the "
                "loop is traced: `step_fn` must return logits with a static "
                f"last dimension. Received logits of shape {logits.shape}"
            )
        vocabulary = ops.arange(ops.shape(logits)[-1], dtype="int32")
        # A finished beam may only extend with pad, at no cost.
        pad_only = ops.where(
            ops.equal(vocabulary, pad_token_id), 0.0, _IMPOSSIBLE
        )[None, :]

        token_ids = ops.full((rows, max_length), pad_token_id, "int32")
        done = ops.zeros((rows,), "bool")
        # Only beam 0 of each image is live at the first step, so the first
        # step proposes `width` different tokens rather than `width` copies.
        is_first_beam = ops.equal(ops.arange(rows, dtype="int32") % width, 0)
        scores = ops.cast(ops.where(is_first_beam, 0.0, _IMPOSSIBLE), "float32")
        lengths = ops.zeros((rows,), "int32")
        extras_buffer = self._empty_extras_buffer(extras, max_length)

        def advance(index, logits, state, extras, carry):
            token_ids, _, done, scores, lengths, extras_buffer = carry
            log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
            log_probs = ops.where(banned_mask, _IMPOSSIBLE, log_probs)
            log_probs = ops.where(done[:, None], pad_only, log_probs)
            candidates = ops.reshape(
                scores[:, None] + log_probs, (-1, width * vocabulary_size)
            )
            scores, flat_indices = ops.top_k(candidates, k=width)
            scores = ops.reshape(scores, (-1,))
            flat_indices = ops.reshape(flat_indices, (-1,))
            chosen = ops.cast(flat_indices % vocabulary_size, "int32")
            parent_beams = ops.cast(flat_indices // vocabulary_size, "int32")
            image_offsets = ops.arange(rows, dtype="int32") // width * width
            parents = image_offsets + parent_beams

            # Fewer live candidates than beams: the surplus beams become
            # empty, finished captions that can never outrank a real one.
            surplus = ops.equal(scores, _IMPOSSIBLE)
            parent_done = ops.take(done, parents, axis=0)
            frozen = ops.logical_or(parent_done, surplus)
            chosen = ops.where(frozen, pad_token_id, chosen)

            def reorder(x):
                return ops.take(x, parents, axis=0)

            state = keras.tree.map_structure(reorder, state)
            token_ids = ops.where(
                surplus[:, None], pad_token_id, reorder(token_ids)
            )
            token_ids = self._write_step(token_ids, index, chosen)
            steps = ops.cast(ops.logical_not(frozen), "int32")
            lengths = ops.where(surplus, 0, reorder(lengths) + steps)
            if extras is not None:
                extras_buffer = self._zero_where(
                    surplus, reorder(extras_buffer)
                )
                extras_buffer = self._write_step(
                    extras_buffer,
                    index,
                    self._zero_where(frozen, reorder(extras)),
                )
            done = ops.logical_or(frozen, ops.equal(chosen, end_token_id))
            return (
                index + 1,
                (token_ids, chosen, done, scores, lengths, extras_buffer),
                state,
            )

        index, carry, state = advance(
            ops.convert_to_tensor(0, "int32"),
            logits,
            state,
            extras,
            (
                token_ids,
                first_token_ids,
                done,
                scores,
                lengths,
                extras_buffer,
            ),
        )

        def cond(index, carry, state):
            done = carry[2]
            return ops.logical_and(
                ops.less(index, max_length),
                ops.logical_not(ops.all(done)),
            )

        def body(index, carry, state):
            logits, state, extras = step_fn(carry[1], state)
            return advance(index, logits, state, extras, carry)

        _, carry, _ = ops.while_loop(cond, body, (index, carry, state))
        token_ids, _, _, scores, lengths, extras_buffer = carry

        scores = ops.reshape(scores, (-1, width))
        if self.length_penalty != 0.0:
            lengths = ops.cast(ops.reshape(lengths, (-1, width)), "float32")
            scores = scores / ops.power(
                (5.0 + lengths) / 6.0, self.length_penalty
            )
        ranking = ops.argsort(-scores, axis=-1)
        if not self.return_all_beams:
            ranking = ranking[:, :1]

        def select(x):
            # (rows, ...) -> (batch, kept beams, ...), best first.
            x = ops.reshape(x, (-1, width) + tuple(x.shape[1:]))
            index = ranking
            for _ in range(len(x.shape) - 2):
                index = ops.expand_dims(index, -1)
            x = ops.take_along_axis(x, index, axis=1)
            return x if self.return_all_beams else x[:, 0]

        outputs = {
            "token_ids": select(token_ids),
            "scores": select(ops.reshape(scores, (-1,))),
        }
        if extras is not None:
            outputs["extras"] = select(extras_buffer)
        return outputs
