import string

# Karpathy's `prepro.py` deletes `string.punctuation` with `translate`.
_DELETE_PUNCTUATION = str.maketrans("", "", string.punctuation)
_PUNCTUATION_BYTES = string.punctuation.encode("ascii")


def standardize_caption(text):
    """Standardises a caption the way Karpathy's preprocessing does.

    This is the one standardisation used everywhere: when a vocabulary is
    built, when captions are tokenized for training and when references are
    compared with generated captions. It applies, in order:

    1. lower-casing with `str.lower()`;
    2. deletion (not replacement by a space) of every ASCII punctuation
       character, that is every character of `string.punctuation`:
       ``!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~``. So `"don't"` becomes `"dont"`
       and `"t-shirt"` becomes `"tshirt"`. Other characters, including
       accented letters, digits and non-ASCII punctuation, are kept;
    3. splitting on any run of whitespace (`str.split()`) and joining the
       words with a single space, which also strips leading and trailing
       whitespace.

    Because `<` and `>` are punctuation, a caption can never produce a
    special token such as `<unk>`: `"<unk>"` standardises to `"unk"`.

    Args:
        text: str. The caption.

    Returns:
        The standardised caption, a str. It is empty when `text` holds only
        whitespace and punctuation.

    Example:

    >>> import keras_captioning
    >>> keras_captioning.text.standardize_caption("  A dog's ball,  RED! ")
    'a dogs ball red'
    """
    if not isinstance(text, str):
        raise TypeError(
            "`text` must be a str. "
            f"Received: text={text!r} of type {type(text).__name__}"
        )
    return " ".join(_standardized_words(text))


def _standardized_words(text):
    """The words of `standardize_caption(text)`, for a `text` known to be a
    str: skips the check and the join that a caller would split again."""
    text = text.lower()
    if text.isascii():
        # Same result, about twice as fast: `bytes.translate` deletes
        # characters in C without a dictionary lookup per character.
        return (
            text.encode("ascii")
            .translate(None, _PUNCTUATION_BYTES)
            .decode("ascii")
            .split()
        )
    return text.translate(_DELETE_PUNCTUATION).split()
