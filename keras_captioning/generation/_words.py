"""Decoding controls given as words, turned into a sampler's token ids.

`ImageCaptioner.generate`, `caption` and `export` take `bad_words` and
`bad_endings` as words; samplers take token ids. `sampler_options` does the
translation (and the checks that need the vocabulary or the caption length)
once, for all of them.
"""

# The function words a caption should not end on: articles, prepositions,
# conjunctions, possessives and auxiliaries. `bad_endings=True` uses the ones
# the vocabulary has.
DEFAULT_BAD_ENDINGS = (
    "a",
    "an",
    "the",
    "of",
    "in",
    "on",
    "at",
    "to",
    "for",
    "from",
    "by",
    "with",
    "into",
    "onto",
    "over",
    "under",
    "near",
    "and",
    "or",
    "but",
    "its",
    "their",
    "his",
    "her",
    "is",
    "are",
    "some",
)

WORD_CONTROLS = ("bad_words", "bad_endings")


def word_controls(vocabulary, bad_words=None, bad_endings=None):
    """Token-id controls from words.

    Args:
        vocabulary: list of str, the token of each id (a captioner's
            `vocabulary`, special tokens first).
        bad_words: `None` or a list of str, words never generated. A string
            with spaces is a phrase: its last word is never generated right
            after the others (`"in the"` forbids "the" after "in").
        bad_endings: `None`, `False`, `True` or a list of str. Words a
            caption may not end on; `True` takes the words of
            `DEFAULT_BAD_ENDINGS` the vocabulary has.

    Returns:
        A dict with `"bad_words_ids"` and `"bad_endings_ids"` (each `None`
        when not asked for), ready for a sampler's constructor.

    Raises:
        ValueError: listing the words that are not in the vocabulary.

    Example:
    >>> vocabulary = ["<pad>", "<start>", "<end>", "<unk>", "a", "red",
    ...     "circle", "in", "the"]
    >>> keras_captioning.generation.word_controls(
    ...     vocabulary, bad_words=["red", "in the"], bad_endings=True
    ... )
    {'bad_words_ids': [5, [7, 8]], 'bad_endings_ids': [4, 7, 8]}
    """
    vocabulary = list(vocabulary)
    ids = {word: index for index, word in enumerate(vocabulary)}
    missing = []

    def lookup(word):
        if word not in ids:
            missing.append(word)
            return None
        return ids[word]

    bad_words_ids = None
    if bad_words is not None:
        _check_words("bad_words", bad_words)
        bad_words_ids = []
        for phrase in bad_words:
            tokens = [lookup(word) for word in phrase.split()]
            if not tokens:
                raise ValueError(
                    "`bad_words` may not hold an empty string. "
                    f"Received: bad_words={bad_words!r}"
                )
            bad_words_ids.append(tokens[0] if len(tokens) == 1 else tokens)
    bad_endings_ids = None
    if bad_endings is True:
        bad_endings_ids = sorted(
            ids[word] for word in DEFAULT_BAD_ENDINGS if word in ids
        )
    elif bad_endings is not None and bad_endings is not False:
        _check_words("bad_endings", bad_endings)
        bad_endings_ids = sorted({lookup(word) for word in bad_endings})
    if missing:
        raise ValueError(
            "`bad_words` and `bad_endings` must be words of the vocabulary. "
            f"These are not: {sorted(set(missing))}"
        )
    return {"bad_words_ids": bad_words_ids, "bad_endings_ids": bad_endings_ids}


def sampler_options(vocabulary, max_length, options):
    """A captioner's generation options as sampler options.

    Replaces `bad_words` and `bad_endings` (words) by their token ids, and
    checks `min_length` against `max_length` (both in words, as a
    captioner counts them).

    Args:
        vocabulary: list of str.
        max_length: int, the most words per caption.
        options: dict of keyword options (not modified).

    Returns:
        A new dict for `keras_captioning.generation.get`.
    """
    options = dict(options)
    words = {
        name: options.pop(name) for name in WORD_CONTROLS if name in options
    }
    if "bad_words_ids" in options and "bad_words" in words:
        raise ValueError(
            "Pass `bad_words` (words) or `bad_words_ids` (token ids), not both."
        )
    if "bad_endings_ids" in options and "bad_endings" in words:
        raise ValueError(
            "Pass `bad_endings` (words) or `bad_endings_ids` (token ids), "
            "not both."
        )
    if words:
        translated = word_controls(vocabulary, **words)
        options.update(
            {
                name: value
                for name, value in translated.items()
                if value is not None
            }
        )
    min_length = options.get("min_length", 0)
    if (
        isinstance(min_length, int)
        and not isinstance(min_length, bool)
        and min_length > max_length
    ):
        raise ValueError(
            "`min_length` may not exceed `max_length`: no caption could be "
            f"long enough. Received: min_length={min_length}, "
            f"max_length={max_length}"
        )
    return options


def _check_words(name, words):
    if isinstance(words, (str, bytes)) or not hasattr(words, "__iter__"):
        raise TypeError(
            f"`{name}` must be a list of words (str). "
            f"Received: {name}={words!r}"
        )
    for word in words:
        if not isinstance(word, str):
            raise TypeError(
                f"`{name}` must be a list of words (str). Received an item "
                f"{word!r} of type {type(word).__name__} in {name}={words!r}"
            )
