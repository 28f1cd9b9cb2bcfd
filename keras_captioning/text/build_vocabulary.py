import collections

from keras_captioning.text.special_tokens import SPECIAL_TOKENS
from keras_captioning.text.standardize_caption import _standardized_words
from keras_captioning.text.standardize_caption import check_encodable


def build_vocabulary(captions, min_count=1, max_size=None):
    """Builds a caption vocabulary from training captions.

    Every caption is standardised with
    `keras_captioning.text.standardize_caption` and split into words. A word
    is kept when it occurs at least `min_count` times over all captions
    (Karpathy's `word_count_threshold`). Kept words are ordered by count,
    most frequent first, with ties broken alphabetically, so the same
    captions always give the same vocabulary. The four special tokens
    `<pad>`, `<start>`, `<end>` and `<unk>` come first, at ids 0 to 3.

    Args:
        captions: iterable of captions. Each item is either a str (one
            caption) or a list or tuple of str (the references of one
            image), and both kinds may be mixed. Read once, so a generator
            works.
        min_count: int, at least 1. The number of occurrences a word needs
            to be kept. Defaults to `1`, keeping every word.
        max_size: int greater than 4, or `None`. The most entries the
            vocabulary may hold, the four special tokens included; the
            least frequent words beyond it are left out. `None` sets no
            limit. Defaults to `None`.

    Returns:
        The vocabulary, a list of str. It starts with the four special
        tokens, then the kept words. Pass it to
        `keras_captioning.text.CaptionTokenizer`.

    Example:

    >>> import keras_captioning
    >>> keras_captioning.text.build_vocabulary(
    ...     [["A dog runs.", "A dog plays"], "A cat sleeps"], min_count=2
    ... )
    ['<pad>', '<start>', '<end>', '<unk>', 'a', 'dog']
    """
    if isinstance(captions, (str, bytes)):
        raise TypeError(
            "`captions` must be an iterable of captions (str) or of lists of "
            "captions, not a single string. Wrap one caption in a list. "
            f"Received: captions={captions!r}"
        )
    if isinstance(min_count, bool) or not isinstance(min_count, int):
        raise TypeError(
            f"`min_count` must be an int. Received: min_count={min_count!r}"
        )
    if min_count < 1:
        raise ValueError(
            f"`min_count` must be at least 1. Received: min_count={min_count}"
        )
    if max_size is not None:
        if isinstance(max_size, bool) or not isinstance(max_size, int):
            raise TypeError(
                "`max_size` must be an int or None. "
                f"Received: max_size={max_size!r}"
            )
        if max_size <= len(SPECIAL_TOKENS):
            raise ValueError(
                f"`max_size` must be greater than {len(SPECIAL_TOKENS)}, the "
                f"number of special tokens {list(SPECIAL_TOKENS)} it "
                f"includes, or None. Received: max_size={max_size}"
            )
    try:
        items = iter(captions)
    except TypeError:
        raise TypeError(
            "`captions` must be an iterable of captions (str) or of lists of "
            f"captions. Received: captions={captions!r} of type "
            f"{type(captions).__name__}"
        ) from None

    counts = collections.Counter()
    num_captions = 0
    for index, item in enumerate(items):
        references = [item] if isinstance(item, str) else item
        if not isinstance(references, (list, tuple)):
            raise TypeError(
                "Every item of `captions` must be a str or a list or tuple "
                f"of str. Received: captions[{index}]={item!r} of type "
                f"{type(item).__name__}"
            )
        for caption in references:
            if not isinstance(caption, str):
                raise TypeError(
                    "Every caption must be a str. Received, in "
                    f"captions[{index}]: {caption!r} of type "
                    f"{type(caption).__name__}"
                )
            try:
                counts.update(_standardized_words(caption))
            except ValueError:
                check_encodable(caption, f"captions[{index}]")
                raise
            num_captions += 1

    if num_captions == 0:
        raise ValueError(
            "`captions` holds no caption, so there is nothing to build a "
            "vocabulary from."
        )
    kept = sorted(
        (word for word, count in counts.items() if count >= min_count),
        key=lambda word: (-counts[word], word),
    )
    if not kept:
        raise ValueError(
            f"No word occurs at least `min_count={min_count}` times in the "
            f"{num_captions} captions (the most frequent occurs "
            f"{max(counts.values(), default=0)} times). Lower `min_count`."
        )
    if max_size is not None:
        kept = kept[: max_size - len(SPECIAL_TOKENS)]
    return list(SPECIAL_TOKENS) + kept
