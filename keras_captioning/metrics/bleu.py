import math

import numpy as np

from keras_captioning.metrics._ngrams import count_corpus_ngrams
from keras_captioning.metrics._ngrams import lookup
from keras_captioning.metrics.corpus import tokenize_corpus

_MAX_ORDER = 4
# The COCO evaluation adds these to every numerator and denominator so that
# a zero count gives a tiny score rather than a division by zero. They are
# kept so that our scores equal COCO's: with no matching 4-gram, BLEU-4 is
# small but not exactly zero.
_TINY = 1e-15
_SMALL = 1e-9


def corpus_bleu(references, hypotheses):
    """Computes corpus-level BLEU-1 to BLEU-4 as the COCO evaluation does.

    Every caption is first split into words by `tokenize_caption`. Then, over
    the whole corpus:

    - the n-gram precision of order `n` is the number of hypothesis n-grams
      found in the references, each clipped to the largest count it has in
      any single reference of the same image, divided by the number of
      hypothesis n-grams; both counts are summed over all images before the
      division;
    - BLEU-N is the geometric mean of the precisions of orders 1 to N;
    - a brevity penalty `exp(1 - r / c)` multiplies every score when the
      total hypothesis length `c` is below the total reference length `r`.
      For each image, `r` counts the reference whose length is closest to
      the hypothesis's, the shorter one on a tie (COCO's "closest" option).

    As in the COCO code (`pycocoevalcap.bleu.Bleu(4)`), `1e-15` is added to
    each matched count and `1e-9` to each total, so orders with no match give
    a small positive score instead of zero. With the same tokenised input,
    the numbers equal COCO's.

    Args:
        references: list with one entry per image, each a list of one or
            more reference captions (str).
        hypotheses: list of str, the generated caption of each image.

    Returns:
        A list of four floats in `[0, 1]`: `[BLEU-1, BLEU-2, BLEU-3,
        BLEU-4]`.

    Raises:
        TypeError: if the containers or the captions have the wrong type.
        ValueError: if the two lists differ in length, are empty, or an image
            has no reference or a reference has no word.

    Reference:
        Papineni et al., "BLEU: a Method for Automatic Evaluation of Machine
        Translation", ACL 2002.

    Example:

    >>> references = [["a dog runs on the grass", "a brown dog running"]]
    >>> hypotheses = ["a dog runs on grass"]
    >>> scores = keras_captioning.metrics.corpus_bleu(references, hypotheses)
    >>> [round(score, 3) for score in scores]
    [1.0, 0.866, 0.794, 0.707]
    """
    tokens = tokenize_corpus(references, hypotheses)
    return _bleu_from_ngrams(count_corpus_ngrams(*tokens, _MAX_ORDER))


def _bleu_from_ngrams(ngrams):
    """`corpus_bleu` from the `count_corpus_ngrams` of checked, tokenised
    captions (`evaluate_captions` counts them once for every metric)."""
    matched = [_clipped_matches(ngrams, counts) for counts in ngrams.orders]
    guessed = [
        int(np.maximum(ngrams.hyp_length - order, 0).sum())
        for order in range(_MAX_ORDER)
    ]
    hypothesis_length = int(ngrams.hyp_length.sum())
    reference_length = _closest_reference_length(ngrams)

    scores = []
    precision_product = 1.0
    for order in range(_MAX_ORDER):
        precision_product *= (matched[order] + _TINY) / (
            guessed[order] + _SMALL
        )
        scores.append(precision_product ** (1.0 / (order + 1)))
    length_ratio = (hypothesis_length + _TINY) / (reference_length + _SMALL)
    if length_ratio < 1.0:
        brevity_penalty = math.exp(1.0 - 1.0 / length_ratio)
        scores = [score * brevity_penalty for score in scores]
    return [float(score) for score in scores]


def _clipped_matches(ngrams, counts):
    """Hypothesis n-grams of one order found in the references, clipped.

    Each n-gram counts at most as often as in the one reference of the same
    image that holds it most often.
    """
    if len(counts.ref_code) == 0:
        return 0
    scale = max(counts.num_ngrams, 1)
    ref_keys = ngrams.ref_image[counts.ref_caption] * scale + counts.ref_code
    by_key = np.argsort(ref_keys, kind="stable")
    sorted_keys = ref_keys[by_key]
    first = np.flatnonzero(
        np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]])
    )
    clip_counts = np.maximum.reduceat(counts.ref_count[by_key], first)
    hyp_keys = counts.hyp_image * scale + counts.hyp_code
    found, index = lookup(sorted_keys[first], hyp_keys)
    return int(np.minimum(counts.hyp_count[found], clip_counts[index]).sum())


def _closest_reference_length(ngrams):
    """Sum over images of the reference length closest to the hypothesis's.

    Ties go to the shorter reference, as in COCO's "closest" option.
    """
    distance = np.abs(ngrams.ref_length - ngrams.hyp_length[ngrams.ref_image])
    # Rank each reference by distance, then length, in one integer.
    longest = int(ngrams.ref_length.max()) + 1
    rank = distance * longest + ngrams.ref_length
    first_reference = np.searchsorted(
        ngrams.ref_image, np.arange(len(ngrams.hyp_length))
    )
    closest = np.minimum.reduceat(rank, first_reference) % longest
    return int(closest.sum())
