from keras_captioning.text.standardize_caption import standardized_words


def tokenize_caption(text):
    """Splits a caption into the words every caption metric compares.

    The COCO caption evaluation tokenises with the Stanford PTB tokenizer,
    which needs Java, then drops its punctuation tokens. This pure-Python
    step stands in for it and is applied identically to hypotheses and
    references by `corpus_bleu`, `cider_d`, `rouge_l`, `meteor` and
    `evaluate_captions`. It is, by construction, the words of
    `keras_captioning.text.standardize_caption` (one implementation, shared),
    so a generated caption is scored in the form the vocabulary was built
    from:

    1. lower-casing with `str.lower()`;
    2. deletion (not replacement by a space) of every punctuation and
       symbol character: in ASCII text every character of
       `string.punctuation`, beyond it every character of a Unicode
       punctuation (`P*`) or symbol (`S*`) category, emoji included, and
       the invisible pieces of emoji sequences. So `"dog's"` becomes
       `"dogs"`, `"t-shirt"` becomes `"tshirt"` and `"“smart”"` becomes
       `"smart"`; letters, accented or not, and digits are kept;
    3. a dash wider than a hyphen (en dash, em dash...) becomes a space;
    4. splitting on runs of whitespace with `str.split()`.

    `standardize_caption` documents every rule. Scores computed this way
    can differ slightly from those of the PTB tokenizer, which splits
    `"dog's"` into `"dog 's"`; the scores themselves are checked against
    `pycocoevalcap` on these words.

    Args:
        text: str. One caption. A lone surrogate, which cannot be encoded
            as UTF-8, raises a `ValueError`.

    Returns:
        A list of str, the words of the caption. It is empty when `text`
        holds only whitespace, punctuation and symbols.

    Example:

    >>> keras_captioning.metrics.tokenize_caption("A dog's ball, RED!")
    ['a', 'dogs', 'ball', 'red']
    """
    return standardized_words(text)
