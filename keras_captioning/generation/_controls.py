"""Which tokens may come next, decided inside the compiled loop.

One `Controls` per call asks the loop's own token buffer (`history`, `-1`
at positions not written yet), so no state lives in Python, and uses only
comparisons, `where` and reductions, so the loop converts to LiteRT and ONNX.
"""

from keras import ops


def token_at(history, position):
    """The token of each row at `position` (a scalar), `-1` when outside;
    a masked reduction, not a gather, so that every converter takes it."""
    length = history.shape[1]
    hit = ops.equal(ops.arange(length, dtype="int32")[None, :], position)
    return ops.max(ops.where(hit, history, -1), axis=1)


def is_in(values, ids):
    """Bool, the shape of `values`: True where a value is one of `ids`."""
    ids = ops.convert_to_tensor(list(ids) or [-1], "int32")
    return ops.any(ops.equal(values[..., None], ids), axis=-1)


class Controls:
    """The token rules of one call: the decoding controls of `sampler` and
    the call's checked `arguments` (`end_token_id`, `max_length`,
    `banned_token_ids`, `force_end_token`), for logits of `vocabulary_size`
    (an int, or a scalar tensor when unknown until run time)."""

    def __init__(self, sampler, vocabulary_size, arguments):
        self.sampler = sampler
        self.vocabulary_size = vocabulary_size
        self.end_token_id = arguments["end_token_id"]
        self.max_length = arguments["max_length"]
        self.arguments = arguments
        bad_words_ids = sampler.bad_words_ids
        self.single_bad_words = {
            ids[0] for ids in bad_words_ids if len(ids) == 1
        }
        self.bad_sequences = [ids for ids in bad_words_ids if len(ids) > 1]
        self.penalises = sampler.repetition_penalty != 1.0
        # Whether any decoding control forbids tokens.
        self.bans = bool(
            sampler.min_length
            or sampler.no_repeat_ngram_size
            or bad_words_ids
            or sampler.bad_endings_ids
        )

    def _vocabulary(self):
        return ops.arange(self.vocabulary_size, dtype="int32")

    def _is_end(self):
        return ops.equal(self._vocabulary(), self.end_token_id)[None, :]

    def history(self, token_ids, index):
        """The buffer `token_ids` with `-1` at positions `>= index`."""
        positions = ops.arange(self.max_length, dtype="int32")[None, :]
        return ops.where(positions < index, token_ids, -1)

    def forbidden(self, history, index):
        """Bool `(rows, vocabulary)`, True where a token may not come at
        position `index` after the tokens of `history`.

        Banned tokens never come; with `force_end_token` only the end token
        comes at the last position. A row the rules leave no token at all
        (the forced end after a bad ending, a tiny vocabulary) may end.
        """
        banned_token_ids = self.arguments["banned_token_ids"]
        forbidden = is_in(self._vocabulary(), banned_token_ids)[None, :]
        if self.arguments["force_end_token"]:
            forbidden = ops.where(
                ops.greater_equal(index, self.max_length - 1),
                ops.logical_not(self._is_end()),
                forbidden,
            )
        if not self.bans:
            return forbidden
        forbidden = ops.logical_or(forbidden, self._banned(history, index))
        stuck = ops.all(forbidden, axis=1, keepdims=True)
        return ops.logical_and(
            forbidden, ops.logical_not(ops.logical_and(stuck, self._is_end()))
        )

    def _banned(self, history, index):
        """Bool `(rows, vocabulary)`: True where a decoding control forbids
        a token."""
        min_length = self.sampler.min_length
        bad_endings_ids = self.sampler.bad_endings_ids
        vocabulary = self._vocabulary()
        is_end = self._is_end()
        banned = is_in(vocabulary, self.single_bad_words)[None, :]
        if min_length:
            banned = ops.logical_or(
                banned, ops.logical_and(is_end, index < min_length)
            )
        if bad_endings_ids:
            last = token_at(history, index - 1)
            bad_ending = is_in(last, bad_endings_ids)[:, None]
            banned = ops.logical_or(banned, ops.logical_and(bad_ending, is_end))
        for sequence in self.bad_sequences:
            prefix_length = len(sequence) - 1
            follows = ops.greater_equal(index, prefix_length)
            for offset, token_id in enumerate(sequence[:-1]):
                previous = token_at(history, index - prefix_length + offset)
                follows = ops.logical_and(
                    follows, ops.equal(previous, token_id)
                )
            banned = ops.logical_or(
                banned,
                ops.logical_and(
                    follows[:, None],
                    ops.equal(vocabulary, sequence[-1])[None, :],
                ),
            )
        if self.sampler.no_repeat_ngram_size:
            repeated = self._repeated_ngram_ends(history, index)
            if repeated is not None:
                banned = ops.logical_or(banned, repeated)
        return banned

    def _repeated_ngram_ends(self, history, index):
        """True for each token that would complete an n-gram seen before."""
        size = self.sampler.no_repeat_ngram_size
        starts = self.max_length - size + 1
        if starts < 1:
            return None
        # Window `j` covers positions j .. j + size - 1; it counts when it
        # lies wholly before `index` and its first `size - 1` tokens are
        # the row's last `size - 1` tokens.
        match = ops.less(ops.arange(starts, dtype="int32") + (size - 1), index)[
            None, :
        ]
        for offset in range(size - 1):
            previous = token_at(history, index - (size - 1) + offset)
            match = ops.logical_and(
                match,
                ops.equal(
                    history[:, offset : offset + starts], previous[:, None]
                ),
            )
        following = history[:, size - 1 : size - 1 + starts]
        return ops.any(
            ops.logical_and(
                match[:, :, None],
                ops.equal(following[:, :, None], self._vocabulary()),
            ),
            axis=1,
        )

    def penalise(self, logits, history):
        """Keskar et al. (2019): tokens already generated get their
        positive logits divided and their negative logits multiplied by
        `repetition_penalty`."""
        if not self.penalises:
            return logits
        seen = ops.any(
            ops.equal(history[:, :, None], self._vocabulary()), axis=1
        )
        penalty = self.sampler.repetition_penalty
        penalised = ops.where(logits > 0, logits / penalty, logits * penalty)
        return ops.where(seen, penalised, logits)
