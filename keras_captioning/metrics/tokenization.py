import string

# One deletion table, built once: `str.translate` then removes every ASCII
# punctuation character in a single pass over the text.
_DELETE_PUNCTUATION = str.maketrans("", "", string.punctuation)


def tokenize_caption(text):
    """Splits a caption into the words every caption metric compares.

    The COCO caption evaluation tokenises with the Stanford PTB tokenizer,
    which needs Java. This pure-Python step stands in for it and is applied
    identically to hypotheses and references by `corpus_bleu`, `cider_d`,
    `rouge_l`, `meteor` and `evaluate_captions`. It applies, in order:

    1. lower-casing with `str.lower()`;
    2. deletion (not replacement by a space) of every ASCII punctuation
       character, every character of `string.punctuation`. So `"dog's"`
       becomes `"dogs"` and `"t-shirt"` becomes `"tshirt"`; other
       characters, accented letters and digits included, are kept;
    3. splitting on runs of whitespace with `str.split()`.

    These are the rules of `keras_captioning.text.standardize_caption`, so a
    generated caption is scored in the form the vocabulary was built from.
    Scores computed this way can differ slightly from those of the PTB
    tokenizer, which splits `"dog's"` into `"dog 's"`.

    Args:
        text: str. One caption.

    Returns:
        A list of str, the words of the caption. It is empty when `text`
        holds only whitespace and punctuation.

    Example:

    >>> keras_captioning.metrics.tokenize_caption("A dog's ball, RED!")
    ['a', 'dogs', 'ball', 'red']
    """
    if not isinstance(text, str):
        raise TypeError(
            "`text` must be a str. "
            f"Received: text={text!r} of type {type(text).__name__}"
        )
    return text.lower().translate(_DELETE_PUNCTUATION).split()
