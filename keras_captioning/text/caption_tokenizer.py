import collections
import itertools
import warnings

import keras
import numpy as np

from keras_captioning import _validation
from keras_captioning.text.special_tokens import END_TOKEN
from keras_captioning.text.special_tokens import PAD_TOKEN
from keras_captioning.text.special_tokens import SPECIAL_TOKENS
from keras_captioning.text.special_tokens import START_TOKEN
from keras_captioning.text.special_tokens import UNKNOWN_TOKEN
from keras_captioning.text.standardize_caption import _standardized_words
from keras_captioning.text.standardize_caption import check_encodable
from keras_captioning.text.standardize_caption import standardize_caption

# How many of the most common unknown words a warning names.
_NUM_UNKNOWN_WORDS_SHOWN = 5


@keras.saving.register_keras_serializable(package="keras_captioning")
class CaptionTokenizer:
    """Maps captions to fixed-length rows of token ids and back.

    The vocabulary is a list of words, each already standardised (see
    `keras_captioning.text.standardize_caption`); `build_vocabulary` makes
    one from training captions. The four special tokens hold fixed ids:
    `<pad>` 0, `<start>` 1, `<end>` 2 and `<unk>` 3. If the vocabulary does
    not contain them they are put in front of it; if it does, they must be
    its first four entries, in that order.

    `tokenize` standardises each caption, splits it into words and writes
    `<start> w1 ... wk <end>` followed by `<pad>` up to `max_length + 2`
    ids. A caption of more than `max_length` words keeps its first
    `max_length` words, still followed by `<end>`, and the call warns with
    the number of captions shortened. A word outside the vocabulary becomes
    `<unk>`; such words are counted in `unknown_word_counts`, a
    `collections.Counter` that accumulates over all calls until
    `reset_unknown_word_counts()`, and each call that met any warns once
    with their number. The counts are runtime statistics and are not part
    of the config.

    `detokenize` reverses this: it skips a leading `<start>`, stops at the
    first `<end>`, drops `<pad>` and joins the words with single spaces.
    `<unk>` (and a `<start>` that is not leading) stays visible, so nothing
    the ids say is hidden.

    The tokenizer is plain Python and NumPy, not a layer: it runs outside
    compiled functions. It is JSON-serialisable through `get_config()` and
    registered with Keras, so `keras.saving.serialize_keras_object` and
    `keras.saving.deserialize_keras_object` round-trip it.

    Args:
        vocabulary: list of str. Distinct, non-empty, standardised words,
            optionally preceded by the four special tokens.
        max_length: int, at least 1. The most words a tokenized caption
            keeps; rows have `max_length + 2` ids, room for `<start>` and
            `<end>`. Defaults to `20`.

    Example:

    >>> import keras_captioning
    >>> tokenizer = keras_captioning.text.CaptionTokenizer(
    ...     ["a", "dog", "runs"], max_length=4
    ... )
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     ids = tokenizer.tokenize(["A dog runs!", "a cat"])
    >>> ids.tolist()
    [[1, 4, 5, 6, 2, 0], [1, 4, 3, 2, 0, 0]]
    >>> tokenizer.detokenize(ids)
    ['a dog runs', 'a <unk>']
    >>> tokenizer.unknown_word_counts
    Counter({'cat': 1})
    >>> print(caught[0].message)  # doctest: +ELLIPSIS
    1 word occurrence(s) (1 distinct word(s)) are not in the vocabulary ...
    """

    def __init__(self, vocabulary, max_length=20):
        if isinstance(max_length, bool) or not isinstance(
            max_length, (int, np.integer)
        ):
            raise TypeError(
                "`max_length` must be an int. "
                f"Received: max_length={max_length!r}"
            )
        if max_length < 1:
            raise ValueError(
                "`max_length` must be at least 1. "
                f"Received: max_length={max_length}"
            )
        self._vocabulary = _validate_vocabulary(vocabulary)
        self._max_length = int(max_length)
        self._index = {word: i for i, word in enumerate(self._vocabulary)}
        self.unknown_word_counts = collections.Counter()

    @property
    def vocabulary(self):
        """The words by id, special tokens first (a new list)."""
        return list(self._vocabulary)

    @property
    def vocabulary_size(self):
        """The number of ids, the four special tokens included."""
        return len(self._vocabulary)

    @property
    def max_length(self):
        """The most words a tokenized caption keeps."""
        return self._max_length

    @property
    def sequence_length(self):
        """The length of a tokenized row: `max_length + 2`."""
        return self._max_length + 2

    @property
    def pad_id(self):
        """The id of `<pad>`: 0."""
        return SPECIAL_TOKENS.index(PAD_TOKEN)

    @property
    def start_id(self):
        """The id of `<start>`: 1."""
        return SPECIAL_TOKENS.index(START_TOKEN)

    @property
    def end_id(self):
        """The id of `<end>`: 2."""
        return SPECIAL_TOKENS.index(END_TOKEN)

    @property
    def unknown_id(self):
        """The id of `<unk>`: 3."""
        return SPECIAL_TOKENS.index(UNKNOWN_TOKEN)

    def __len__(self):
        return len(self._vocabulary)

    def __repr__(self):
        return (
            f"{type(self).__name__}(vocabulary_size={self.vocabulary_size}, "
            f"max_length={self.max_length})"
        )

    def token_to_id(self, token):
        """Returns the id of `token`, a word or special token.

        Raises `ValueError` for a token outside the vocabulary rather than
        returning the `<unk>` id, so a typo cannot pass unnoticed.
        """
        if token not in self._index:
            raise ValueError(
                f"`token` is not in the vocabulary. Received: token={token!r}"
            )
        return self._index[token]

    def id_to_token(self, id):
        """Returns the word or special token of id `id`."""
        if isinstance(id, bool) or not isinstance(id, (int, np.integer)):
            raise TypeError(f"`id` must be an int. Received: id={id!r}")
        if not 0 <= id < len(self._vocabulary):
            raise ValueError(
                f"`id` must be in [0, {len(self._vocabulary)}), the "
                f"vocabulary size. Received: id={id}"
            )
        return self._vocabulary[id]

    def reset_unknown_word_counts(self):
        """Empties `unknown_word_counts`."""
        self.unknown_word_counts = collections.Counter()

    def tokenize(self, strings):
        """Turns captions into rows of token ids.

        Args:
            strings: a str, or a list, tuple or 1-D NumPy array of str.

        Returns:
            int32 NumPy array of shape `(n, max_length + 2)`, where `n` is
            the number of captions (1 for a single str).
        """
        strings = _as_caption_list(strings)
        # One pass collects the words of all captions in a flat list: tens
        # of thousands of per-caption lists would cost far more (mostly in
        # garbage collection). The call changes no state until every caption
        # has been checked.
        lengths = np.empty(len(strings), "int64")
        flat_words = []
        num_truncated = 0
        for index, caption in enumerate(strings):
            try:
                words = _standardized_words(caption)
            except ValueError:
                # Name the caption by its index (costs nothing until then).
                check_encodable(caption, f"strings[{index}]")
                raise
            if not words:
                raise ValueError(
                    "A caption is empty after standardisation (lower-casing "
                    "and removing punctuation and symbols), so it has no "
                    f"word to tokenize. Received: strings[{index}]={caption!r}"
                )
            if len(words) > self._max_length:
                num_truncated += 1
                del words[self._max_length :]
            lengths[index] = len(words)
            flat_words.extend(words)

        lookup = self._index.get
        unknown_id = self.unknown_id
        flat_ids = np.fromiter(
            map(lookup, flat_words, itertools.repeat(unknown_id)),
            "int32",
            count=len(flat_words),
        )
        unknown = collections.Counter(
            flat_words[i] for i in np.flatnonzero(flat_ids == unknown_id)
        )

        ids = np.full(
            (len(strings), self.sequence_length), self.pad_id, "int32"
        )
        ids[:, 0] = self.start_id
        is_word = np.arange(self._max_length) < lengths[:, None]
        ids[:, 1 : self._max_length + 1][is_word] = flat_ids
        ids[np.arange(len(strings)), lengths + 1] = self.end_id

        if num_truncated:
            warnings.warn(
                f"{num_truncated} of {len(strings)} captions had more than "
                f"`max_length={self._max_length}` words and were truncated "
                f"to their first {self._max_length} words (the <end> token "
                "is still appended). Raise `max_length` to keep them whole.",
                UserWarning,
                stacklevel=2,
            )
        if unknown:
            self.unknown_word_counts.update(unknown)
            shown = ", ".join(
                f"{word!r} ({count})"
                for word, count in unknown.most_common(_NUM_UNKNOWN_WORDS_SHOWN)
            )
            warnings.warn(
                f"{sum(unknown.values())} word occurrence(s) "
                f"({len(unknown)} distinct word(s)) are not in the "
                f"vocabulary and became {UNKNOWN_TOKEN}; most common: "
                f"{shown}. All of them are counted in "
                "`tokenizer.unknown_word_counts`.",
                UserWarning,
                stacklevel=2,
            )
        return ids

    def detokenize(self, ids):
        """Turns rows of token ids back into captions.

        Args:
            ids: integer ids of shape `(n, length)` or `(length,)`: a NumPy
                array, a (possibly ragged) nested list, or a tensor of any
                Keras backend. Rows may have any length.

        Returns:
            A list of `n` str (one str in a list for a 1-D input).
        """
        rows = _as_id_rows(ids)
        captions = []
        for row_index, row in enumerate(rows):
            bad = (row < 0) | (row >= len(self._vocabulary))
            if bad.any():
                position = int(np.argmax(bad))
                raise ValueError(
                    f"Token ids must be in [0, {len(self._vocabulary)}), the "
                    f"vocabulary size. Received: {int(row[position])} in "
                    f"row {row_index} at position {position}"
                )
            words = []
            for position, token_id in enumerate(row.tolist()):
                if token_id == self.end_id:
                    break
                if token_id == self.pad_id or (
                    position == 0 and token_id == self.start_id
                ):
                    continue
                words.append(self._vocabulary[token_id])
            captions.append(" ".join(words))
        return captions

    def get_config(self):
        return {
            "vocabulary": list(self._vocabulary),
            "max_length": self._max_length,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _validate_vocabulary(vocabulary):
    """Checks `vocabulary` and returns it with the special tokens first."""
    vocabulary = _validation.check_str_list(
        "vocabulary",
        vocabulary,
        "a list of str (see `keras_captioning.text.build_vocabulary`)",
    )
    for index, word in enumerate(vocabulary):
        if not word:
            raise ValueError(
                "Vocabulary entries must be non-empty. Received: "
                f"vocabulary[{index}]=''"
            )
    duplicates = sorted(
        word
        for word, count in collections.Counter(vocabulary).items()
        if count > 1
    )
    if duplicates:
        raise ValueError(
            f"`vocabulary` must not repeat a word. Received duplicates: "
            f"{duplicates}"
        )

    special = list(SPECIAL_TOKENS)
    present = [word for word in vocabulary if word in SPECIAL_TOKENS]
    if present:
        if vocabulary[: len(special)] != special:
            positions = {word: vocabulary.index(word) for word in present}
            raise ValueError(
                f"The special tokens {special} have fixed ids 0 to "
                f"{len(special) - 1}: a vocabulary either leaves all of them "
                "out (they are then added in front) or starts with all of "
                f"them, in that order. Received them at positions {positions}"
            )
        words = vocabulary[len(special) :]
    else:
        words = vocabulary

    # A word that standardisation would change can never be produced by
    # `tokenize`, so it would waste an id silently.
    for position, word in enumerate(vocabulary):
        if not word.isascii():
            check_encodable(word, f"vocabulary[{position}]")
    unreachable = [word for word in words if standardize_caption(word) != word]
    if unreachable:
        raise ValueError(
            "Vocabulary words must be standardised (lower case, no "
            "punctuation or symbols, no whitespace), or `tokenize` could "
            "never produce them. Pass them through `keras_captioning.text."
            "standardize_caption` or use `build_vocabulary`. Received: "
            f"{unreachable[:10]}"
            + (
                f" and {len(unreachable) - 10} more"
                if len(unreachable) > 10
                else ""
            )
        )
    return special + words


def _as_caption_list(strings):
    """Returns `strings` as a list of str, raising clearly otherwise."""
    if isinstance(strings, str):
        return [strings]
    if isinstance(strings, np.ndarray):
        if strings.ndim != 1:
            raise ValueError(
                "`strings` must be a str or a 1-D sequence of str. Received "
                f"an array of shape {strings.shape}"
            )
        strings = strings.tolist()
    return _validation.check_str_list(
        "strings", strings, "a str or a list of str", (list, tuple)
    )


def _as_id_rows(ids):
    """Returns `ids` as a list of 1-D integer NumPy arrays, one per row."""
    if isinstance(ids, (list, tuple)):
        try:
            array = np.asarray(ids)
        except ValueError:
            # A ragged nested list: rows of different lengths.
            return [_as_id_row(row, f"ids[{i}]") for i, row in enumerate(ids)]
        if array.dtype == object:
            return [_as_id_row(row, f"ids[{i}]") for i, row in enumerate(ids)]
    elif isinstance(ids, np.ndarray):
        array = ids
    else:
        array = keras.ops.convert_to_numpy(ids)
    if array.ndim == 1:
        return [_as_id_row(array, "ids")]
    if array.ndim == 2:
        return [_as_id_row(row, f"ids[{i}]") for i, row in enumerate(array)]
    raise ValueError(
        "`ids` must have shape (n, length) or (length,). Received shape "
        f"{array.shape}"
    )


def _as_id_row(row, name):
    array = np.asarray(row)
    if array.ndim != 1:
        raise ValueError(
            f"Each row of `ids` must be 1-D. Received {name} of shape "
            f"{array.shape}"
        )
    # An empty list has a float dtype in NumPy but holds no id.
    if array.size == 0:
        return array.astype("int64")
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            f"Token ids must be integers. Received {name} of dtype "
            f"{array.dtype}"
        )
    return array.astype("int64")
