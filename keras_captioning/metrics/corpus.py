"""Checks and tokenises the `(references, hypotheses)` pair of every metric.

Public so that code outside the metrics (the `CaptionMetricsCallback`, a
user's own metric) checks a corpus the way the metrics do.
"""

import numpy as np

from keras_captioning import _validation
from keras_captioning.metrics.tokenization import tokenize_caption

_LIST_TYPES = (list, tuple, np.ndarray)


def tokenize_corpus(references, hypotheses):
    """Validates a corpus and tokenises every caption in it.

    Args:
        references: list (one entry per image) of lists of str.
        hypotheses: list of str, one per image.

    Returns:
        A tuple `(reference_tokens, hypothesis_tokens)`: a list (per image) of
        lists (per reference) of token lists, and a list of token lists.

    Example:

    >>> from keras_captioning.metrics.corpus import tokenize_corpus
    >>> tokenize_corpus([["A red circle."]], ["a circle"])
    ([[['a', 'red', 'circle']]], [['a', 'circle']])
    """
    _validation.check_references(references, list_types=_LIST_TYPES)
    if not isinstance(hypotheses, _LIST_TYPES):
        raise TypeError(
            "`hypotheses` must be a list of str, one caption per image. "
            f"Received: {_validation.describe(hypotheses)}"
        )
    if len(references) != len(hypotheses):
        raise ValueError(
            "`references` and `hypotheses` must have one entry per image, so "
            f"the same length. Received: len(references)={len(references)}, "
            f"len(hypotheses)={len(hypotheses)}"
        )
    if len(hypotheses) == 0:
        raise ValueError(
            "The metrics are averages over images and need at least one. "
            "Received: empty `references` and `hypotheses`"
        )

    hypothesis_tokens = []
    for index, hypothesis in enumerate(hypotheses):
        if not isinstance(hypothesis, str):
            raise TypeError(
                "Every hypothesis must be a str. Received: "
                f"hypotheses[{index}]={_validation.describe(hypothesis)}"
            )
        hypothesis_tokens.append(tokenize_caption(hypothesis))

    reference_tokens = []
    for index, image_references in enumerate(references):
        image_tokens = []
        for position, reference in enumerate(image_references):
            tokens = tokenize_caption(reference)
            if not tokens:
                # An empty reference has no n-grams and a zero length: the
                # COCO formulas are undefined for it, so refuse it.
                raise ValueError(
                    "Every reference caption must contain at least one word "
                    "after `tokenize_caption` (lower-casing, punctuation "
                    "removal). Received: "
                    f"references[{index}][{position}]={reference!r}; remove "
                    "it from the list"
                )
            image_tokens.append(tokens)
        reference_tokens.append(image_tokens)
    return reference_tokens, hypothesis_tokens
