"""Decoding controls given as words (`bad_words`, `bad_endings`), turned
into the token ids samplers take, by `get_sampler` for every caller."""

import collections.abc

from keras_captioning import _validation

# The function words a caption should not end on: articles, prepositions,
# conjunctions, possessives and auxiliaries. `bad_endings=True` uses the ones
# the vocabulary has.
DEFAULT_BAD_ENDINGS = tuple(
    "a an the of in on at to for from by with into onto over under near "
    "and or but its their his her is are some".split()
)


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
        when not asked for), ready for a sampler's constructor. A word not
        in the vocabulary raises a `ValueError` that lists them all.

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
        bad_words = _check_words("bad_words", bad_words)
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
        bad_endings = _check_words("bad_endings", bad_endings)
        bad_endings_ids = sorted({lookup(word) for word in bad_endings})
    if missing:
        raise ValueError(
            "`bad_words` and `bad_endings` must be words of the vocabulary. "
            f"These are not: {sorted(set(missing))}"
        )
    return {"bad_words_ids": bad_words_ids, "bad_endings_ids": bad_endings_ids}


def _check_words(name, words):
    # Any iterable: a set of words is as good as a list here.
    return _validation.check_str_list(
        name, words, "a list of words (str)", collections.abc.Iterable
    )
