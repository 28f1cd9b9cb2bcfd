import keras
from keras import ops

from keras_captioning.generation import _loop
from keras_captioning.generation.sampler import Sampler


class BeamSampler(Sampler):
    """Generates captions by beam search.

    Keeps the `beam_width` most likely partial captions of every image. At
    each step every beam proposes each allowed token; the `beam_width` best
    extensions by summed log-probability survive, each with the decoder
    state of its parent beam. Only one beam per image is live at the first
    step, so the beams start out distinct. A beam that has produced the end
    token is frozen: it keeps its score, extends with `pad_token_id` at no
    cost and still competes for a place. The loop stops once every beam has
    ended. With `beam_width=1` this is exactly greedy decoding.

    The finished beams are ranked by `log_prob / ((5 + length) / 6) **
    length_penalty` (GNMT), where `length` counts the generated tokens, end
    token included; the search itself compares summed log-probabilities.
    `length_penalty=0` ranks by log-probability; larger values favour
    longer captions.

    With `num_beam_groups > 1` this is diverse beam search (Vijayakumar et
    al. 2016): the beams of an image form `num_beam_groups` groups, each a
    beam search of its own started from its own first beam. The groups
    choose in turn at each step, a group's candidate penalised by
    `diversity_penalty` times the number of earlier groups' beams that
    chose the same token this step (Hamming diversity). Like
    `repetition_penalty`, the penalty only steers the choice: scores and
    the final ranking (over all groups) stay the model's log-probabilities.

    When fewer distinct captions exist than beams, the surplus beams are
    all `pad_token_id` with a score of -inf, ranked last.

    Args:
        beam_width: int. Beams kept per image. Defaults to `3`.
        length_penalty: float. Exponent of the length normalisation above.
            Defaults to `0.0`.
        return_all_beams: bool. Return every beam, best first, instead of
            the best one only. Defaults to `False`.
        num_beam_groups: int dividing `beam_width`. Groups of diverse beam
            search; `1` is plain beam search. Defaults to `1`.
        diversity_penalty: float `>= 0`. Weight of the Hamming diversity
            between groups; needs `num_beam_groups > 1`. Defaults to `0.0`.
        **controls: the decoding controls of
            `keras_captioning.generation.Sampler`, applied to every beam on
            its own tokens.

    Call arguments:
        The arguments of `keras_captioning.generation.Sampler`. `step_fn`
        receives `batch * beam_width` rows, row `b * beam_width + j` beam
        `j` of image `b`: `initial_state` is repeated `beam_width` times
        along axis 0.

    Returns:
        The outputs of `keras_captioning.generation.Sampler`, the scores
        being the ranking scores. With `return_all_beams=True` every entry
        gains a beam axis after the batch axis, sorted best first.

    Example:
    >>> # Two beams on a bigram model over pad, start, end, "a" and "b".
    >>> table = np.log(np.array([[.2] * 5, [.1, .1, .15, .6, .05], [.2] * 5,
    ...     [.1, .1, .2, .1, .5], [.1, .1, .7, .05, .05]], "float32"))
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
        self,
        beam_width=3,
        length_penalty=0.0,
        return_all_beams=False,
        num_beam_groups=1,
        diversity_penalty=0.0,
        **controls,
    ):
        self._set_options(locals())
        super().__init__(**controls)

    def generate(self, step_fn, initial_state, **arguments):
        pad_token_id = arguments["pad_token_id"]
        width = self.beam_width
        # Row `b * width + j` is beam `j` of image `b`.
        state = keras.tree.map_structure(
            lambda x: ops.repeat(x, width, axis=0), initial_state
        )
        logits, state, extras, controls, carry = self._first_step(
            step_fn, state, arguments
        )
        vocabulary_size = logits.shape[-1]
        if vocabulary_size is None:
            raise ValueError(
                "Beam search needs the vocabulary size to be known when the "
                "loop is traced: `step_fn` must return logits with a static "
                f"last dimension. Received logits of shape {logits.shape}"
            )
        rows = self._batch_size(state)
        # A finished beam may only extend with pad, at no cost.
        is_pad = ops.equal(
            ops.arange(vocabulary_size, dtype="int32"), pad_token_id
        )
        pad_only = ops.where(is_pad, 0.0, _loop.IMPOSSIBLE)[None, :]
        group_width = width // self.num_beam_groups
        # A choice's parent is its beam within the first beam of its group.
        group_starts = ops.arange(rows, dtype="int32") // group_width
        group_starts *= group_width
        # Penalties steer the choice: the search then ranks by keys other
        # than the scores it keeps (the model's log-probabilities).
        steered = controls.penalises or self.diversity_penalty > 0

        def advance(index, logits, extras, carry, state):
            logits = ops.cast(logits, "float32")
            history = controls.history(carry["token_ids"], index)
            forbidden = controls.forbidden(history, index)

            def extensions(logits):
                log_probs = ops.log_softmax(logits, axis=-1)
                log_probs = ops.where(forbidden, _loop.IMPOSSIBLE, log_probs)
                log_probs = ops.where(
                    carry["done"][:, None], pad_only, log_probs
                )
                return carry["scores"][:, None] + log_probs

            candidates = extensions(logits)
            keys = candidates
            if steered:
                keys = extensions(controls.penalise(logits, history))
            keys, flat_indices, scores = self._choose_in_groups(
                keys, candidates if steered else None, pad_token_id
            )
            chosen = flat_indices % vocabulary_size
            parents = group_starts + flat_indices // vocabulary_size

            def reorder(x):
                return ops.take(x, parents, axis=0)

            # Fewer live candidates than beams: the surplus beams become
            # empty, finished captions that can never outrank a real one.
            surplus = ops.equal(keys, _loop.IMPOSSIBLE)
            frozen = ops.logical_or(reorder(carry["done"]), surplus)
            steps = ops.cast(ops.logical_not(frozen), "int32")
            if extras is not None:
                extras = reorder(extras)
                carry["extras"] = _loop.zero_where(
                    surplus, reorder(carry["extras"])
                )
            carry["token_ids"] = ops.where(
                surplus[:, None], pad_token_id, reorder(carry["token_ids"])
            )
            carry = {
                **_loop.extend(
                    carry, index, chosen, frozen, extras, **arguments
                ),
                "scores": ops.where(surplus, _loop.IMPOSSIBLE, scores),
                "lengths": ops.where(
                    surplus, 0, reorder(carry["lengths"]) + steps
                ),
            }
            return carry, keras.tree.map_structure(reorder, state)

        # Only the first beam of each group is live at the first step, so
        # it proposes different tokens rather than copies.
        is_first_beam = ops.equal(
            ops.arange(rows, dtype="int32") % group_width, 0
        )
        carry["scores"] = ops.cast(
            ops.where(is_first_beam, 0.0, _loop.IMPOSSIBLE), "float32"
        )
        carry["lengths"] = ops.zeros((rows,), "int32")
        carry = _loop.run_loop(
            step_fn, logits, state, extras, carry, advance, arguments
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

    def _choose_in_groups(self, keys, candidates, pad_token_id):
        """Each group of beams picks its `group_width` best keys in turn
        (one group is plain beam search). In diverse beam search a group's
        keys are lowered by `diversity_penalty` per beam of an earlier group
        of the image that took the same token this step.

        Returns `(keys, flat_indices, scores)`, each `(rows,)`, the flat
        indices within each group's `group_width * vocabulary` block, the
        scores picked from `candidates` (the keys when it is `None`).
        """
        vocabulary_size = keys.shape[-1]
        vocabulary = ops.arange(vocabulary_size, dtype="int32")
        group_width = self.beam_width // self.num_beam_groups

        def by_group(x):
            # (rows, vocabulary) -> (batch, groups, group_width * vocabulary)
            return ops.reshape(
                x, (-1, self.num_beam_groups, group_width * vocabulary_size)
            )

        keys = by_group(keys)
        if candidates is not None:
            candidates = by_group(candidates)
        counts = 0.0
        chosen = []
        for group in range(self.num_beam_groups):
            group_keys, flat = ops.top_k(
                keys[:, group] - self.diversity_penalty * counts, k=group_width
            )
            flat = ops.cast(flat, "int32")
            if candidates is None:
                chosen.append((group_keys, flat, group_keys))
            else:
                scores = _loop.pick(candidates[:, group], flat)
                chosen.append((group_keys, flat, scores))
            # Tokens of live choices count against the later groups; pad
            # (finished beams) and impossible choices do not.
            tokens = flat % vocabulary_size
            live = ops.logical_and(
                ops.not_equal(tokens, pad_token_id),
                ops.not_equal(group_keys, _loop.IMPOSSIBLE),
            )
            taken = ops.logical_and(
                live[:, :, None], ops.equal(tokens[:, :, None], vocabulary)
            )
            counts += ops.tile(
                ops.sum(ops.cast(taken, "float32"), axis=1), (1, group_width)
            )
        return tuple(
            ops.reshape(ops.concatenate(parts, axis=1), (-1,))
            for parts in zip(*chosen)
        )
