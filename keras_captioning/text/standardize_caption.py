import string
import unicodedata

# Karpathy's `prepro.py` deletes `string.punctuation` with `translate`.
_PUNCTUATION_BYTES = string.punctuation.encode("ascii")


def _is_variation_selector(code):
    # The two Variation Selectors blocks: VS1-VS16 (VS16 asks for the emoji
    # form of the character before it) and VS17-VS256.
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


def _replacement(code):
    """What standardisation turns the character `chr(code)` into: `None`
    (deleted), `" "` (a word break) or `code` (kept)."""
    character = chr(code)
    category = unicodedata.category(character)
    if category == "Pd" and "HYPHEN" not in unicodedata.name(character, ""):
        # A dash wider than a hyphen (en and em dashes, the horizontal bar,
        # the wave dash...) separates words; a hyphen joins them, as "-".
        return " "
    if (
        category[0] in "PS"  # punctuation, symbols (emoji included)
        or category in ("Cf", "Me")  # invisible formatting, enclosing marks
        or _is_variation_selector(code)
    ):
        return None
    return code


class _Translation(dict):
    """The `str.translate` table of standardisation, filled in lazily.

    Each character is classified by `unicodedata` the first time it is met
    and remembered, so `translate` then looks it up in C: no table of all
    1.1 million code points is built at import time.
    """

    def __missing__(self, code):
        replacement = self[code] = _replacement(code)
        return replacement


_TRANSLATION = _Translation()


def standardize_caption(text):
    """Standardises a caption the way Karpathy's preprocessing does.

    This is the one standardisation used everywhere: when a vocabulary is
    built, when captions are tokenized for training and, through
    `keras_captioning.metrics.tokenize_caption`, when generated captions are
    scored against references. It applies, in order:

    1. lower-casing with `str.lower()`;
    2. deletion (not replacement by a space) of every punctuation and
       symbol character: for ASCII text exactly Karpathy's and the COCO
       tools' `string.punctuation`, ``!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~``,
       so `"don't"` becomes `"dont"` and `"t-shirt"` becomes `"tshirt"`.
       Beyond ASCII the same rule is applied by Unicode category (Python's
       `unicodedata`): every character of a punctuation category (`P*`:
       curly quotes, guillemets, the ellipsis, `¿`...) or a symbol
       category (`S*`: `€`, `°`, `©`, arrows, emoji...) is deleted, so
       `"“smart”"` becomes `"smart"` and `"don’t"` becomes `"dont"`.
       **Emoji are dropped like punctuation**, together with what emoji
       sequences are built from: skin-tone modifiers (category `Sk`),
       zero-width joiners and other invisible format characters (`Cf`,
       such as the soft hyphen and the byte order mark), variation
       selectors and enclosing marks (`Me`, the keycap). A caption made
       only of emoji is therefore empty;
    3. one exception to 2: a dash wider than a hyphen (category `Pd` with
       no "HYPHEN" in its Unicode name: the en dash `–`, the em dash `—`,
       the horizontal bar...) becomes a space, since it separates words
       where a hyphen joins them: `"dog—cat"` becomes `"dog cat"`, while
       the Unicode hyphen `‐` is deleted like `-`;
    4. splitting on any run of whitespace (`str.split()`) and joining the
       words with a single space, which also strips leading and trailing
       whitespace.

    Letters, digits and combining accents of every script are kept. The
    categories are those of the running Python's Unicode database
    (`unicodedata.unidata_version`): an emoji newer than it is unassigned
    there and kept. Because `<` and `>` are punctuation, a caption can never
    produce a special token such as `<unk>`: `"<unk>"` standardises to
    `"unk"`.

    Args:
        text: str. The caption. It must be encodable as UTF-8: a lone
            surrogate (such as `"\\ud800"`, which a malformed JSON file or
            `errors="surrogateescape"` can produce) raises a `ValueError`.

    Returns:
        The standardised caption, a str. It is empty when `text` holds only
        whitespace, punctuation and symbols.

    Example:

    >>> import keras_captioning
    >>> keras_captioning.text.standardize_caption("  A dog's ball,  RED! ")
    'a dogs ball red'
    >>> keras_captioning.text.standardize_caption("“Smart” dog—cat 🐶🐶…")
    'smart dog cat'
    """
    return " ".join(standardized_words(text))


def standardized_words(text):
    """The words of `standardize_caption(text)`, as a list.

    What the vocabulary counts, the tokenizer looks up and the caption
    metrics compare (`keras_captioning.metrics.tokenize_caption`).

    Args:
        text: str. One caption.

    Returns:
        A list of str, empty when `text` holds only whitespace,
        punctuation and symbols.

    Example:

    >>> keras_captioning.text.standardized_words("  A dog's ball,  RED! ")
    ['a', 'dogs', 'ball', 'red']
    """
    if not isinstance(text, str):
        raise TypeError(
            "`text` must be a str. "
            f"Received: text={text!r} of type {type(text).__name__}"
        )
    return _standardized_words(text)


def _standardized_words(text, name="text"):
    """The words of `standardize_caption(text)`, for a `text` known to be a
    str: skips the check and the join that a caller would split again.
    `name` is the argument named by the error for an unencodable `text`."""
    if text.isascii():
        # Same result, about twice as fast: `bytes.translate` deletes
        # characters in C without a dictionary lookup per character. (The
        # ASCII characters of categories P* and S* are exactly
        # `string.punctuation`.)
        return (
            text.lower()
            .encode("ascii")
            .translate(None, _PUNCTUATION_BYTES)
            .decode("ascii")
            .split()
        )
    check_encodable(text, name)
    return text.lower().translate(_TRANSLATION).split()


def check_encodable(text, name):
    """Raises a `ValueError` naming `name` when the str `text` cannot be
    encoded as UTF-8 (it holds a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"`{name}` must be text that can be encoded as UTF-8, but it "
            f"holds the lone surrogate {text[error.start]!r} at position "
            f"{error.start} (a half of a UTF-16 pair, as a malformed JSON "
            "escape or `errors='surrogateescape'` produces). Fix the "
            f"caption's source. Received: {name}={text!r}"
        ) from None
