"""The decoding controls every sampler shares, inside the compiled loop.

`Sampler` keeps the options (`min_length`, `no_repeat_ngram_size`,
`repetition_penalty`, `bad_words_ids`, `bad_endings_ids`); at call time it
builds one `Controls` for the call and the loop asks it, each step, which
tokens the controls forbid and how the logits are penalised. Everything
reads the loop's own token buffer (`history`, `-1` at positions not written
yet), so no state lives in Python, and every op is a comparison, a `where`
or a reduction: the loop still converts to LiteRT and ONNX.
"""

from keras import ops


def token_at(history, position):
    """The token of each row at `position` (a scalar), `-1` when outside.

    A masked reduction rather than a dynamic slice or gather: it lowers to
    ops every converter takes.
    """
    length = history.shape[1]
    hit = ops.equal(ops.arange(length, dtype="int32")[None, :], position)
    return ops.max(ops.where(hit, history, -1), axis=1)


class Controls:
    """The controls of one call, with the call's token ids.

    Args:
        min_length: int, words before the end token may come.
        no_repeat_ngram_size: int, `0` for none.
        repetition_penalty: float, `1.0` for none.
        bad_words_ids: tuple of tuples of ints; a 1-tuple bans a token,
            a longer one bans its last token after the others.
        bad_endings_ids: tuple of ints the end token may not follow.
        end_token_id: int.
        vocabulary_size: int, the static last dimension of the logits.
        max_length: int, the size of the token buffer.
    """

    def __init__(
        self,
        min_length,
        no_repeat_ngram_size,
        repetition_penalty,
        bad_words_ids,
        bad_endings_ids,
        end_token_id,
        vocabulary_size,
        max_length,
    ):
        self.min_length = min_length
        self.no_repeat_ngram_size = no_repeat_ngram_size
        self.repetition_penalty = repetition_penalty
        self.single_bad_words = tuple(
            sorted({ids[0] for ids in bad_words_ids if len(ids) == 1})
        )
        self.bad_sequences = tuple(ids for ids in bad_words_ids if len(ids) > 1)
        self.bad_endings_ids = tuple(bad_endings_ids)
        self.end_token_id = end_token_id
        self.vocabulary_size = vocabulary_size
        self.max_length = max_length

    @property
    def bans(self):
        """Whether any control forbids tokens (else `banned` is `None`)."""
        return bool(
            self.min_length
            or self.no_repeat_ngram_size
            or self.single_bad_words
            or self.bad_sequences
            or self.bad_endings_ids
        )

    @property
    def penalises(self):
        return self.repetition_penalty != 1.0

    def _vocabulary(self):
        return ops.arange(self.vocabulary_size, dtype="int32")

    def _is_end(self):
        return ops.equal(self._vocabulary(), self.end_token_id)[None, :]

    def banned(self, history, index):
        """Bool `(rows, vocabulary)`: True where a control forbids a token.

        Args:
            history: int32 `(rows, max_length)`, the tokens of each row so
                far, `-1` at positions `>= index`.
            index: scalar int32, the position being written.
        """
        if not self.bans:
            return None
        vocabulary = self._vocabulary()
        is_end = self._is_end()
        banned = ops.zeros((1, self.vocabulary_size), "bool")
        if self.single_bad_words:
            words = ops.convert_to_tensor(self.single_bad_words, "int32")
            banned = ops.logical_or(
                banned,
                ops.any(ops.equal(vocabulary[:, None], words[None, :]), 1)[
                    None, :
                ],
            )
        if self.min_length:
            banned = ops.logical_or(
                banned, ops.logical_and(is_end, index < self.min_length)
            )
        if self.bad_endings_ids:
            last = token_at(history, index - 1)
            endings = ops.convert_to_tensor(self.bad_endings_ids, "int32")
            bad_ending = ops.any(
                ops.equal(last[:, None], endings[None, :]), axis=1
            )
            banned = ops.logical_or(
                banned, ops.logical_and(bad_ending[:, None], is_end)
            )
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
        if self.no_repeat_ngram_size:
            repeated = self._repeated_ngram_ends(history, index)
            if repeated is not None:
                banned = ops.logical_or(banned, repeated)
        return banned

    def _repeated_ngram_ends(self, history, index):
        """True for each token that would complete an n-gram seen before."""
        size = self.no_repeat_ngram_size
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
        penalised = ops.where(
            logits > 0,
            logits / self.repetition_penalty,
            logits * self.repetition_penalty,
        )
        return ops.where(seen, penalised, logits)

    def forbidden(self, base_mask, history, index):
        """`base_mask` (banned and forced tokens) with the controls added.

        When together they leave a row no token at all (the forced end
        token after a bad ending, or a tiny vocabulary), the end token is
        allowed in that row: a caption ends rather than loops.
        """
        banned = self.banned(history, index)
        if banned is None:
            return base_mask
        forbidden = ops.logical_or(base_mask, banned)
        stuck = ops.all(forbidden, axis=1, keepdims=True)
        return ops.logical_and(
            forbidden, ops.logical_not(ops.logical_and(stuck, self._is_end()))
        )
