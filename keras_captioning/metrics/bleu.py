import math
from collections import Counter

from keras_captioning.metrics._inputs import tokenize_corpus
from keras_captioning.metrics._ngrams import count_ngrams

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
    reference_tokens, hypothesis_tokens = tokenize_corpus(
        references, hypotheses
    )
    return _bleu_from_tokens(reference_tokens, hypothesis_tokens)


def _bleu_from_tokens(reference_tokens, hypothesis_tokens):
    """`corpus_bleu` on captions already checked and tokenised."""
    matched = [0] * _MAX_ORDER
    guessed = [0] * _MAX_ORDER
    hypothesis_length = 0
    reference_length = 0
    for image_references, hypothesis in zip(
        reference_tokens, hypothesis_tokens, strict=True
    ):
        clip_counts = Counter()
        for reference in image_references:
            # Counter union keeps the larger count of each n-gram.
            clip_counts |= count_ngrams(reference, _MAX_ORDER)
        for ngram, count in count_ngrams(hypothesis, _MAX_ORDER).items():
            matched[len(ngram) - 1] += min(count, clip_counts.get(ngram, 0))

        length = len(hypothesis)
        for order in range(_MAX_ORDER):
            guessed[order] += max(0, length - order)
        hypothesis_length += length
        reference_length += min(
            (len(reference) for reference in image_references),
            key=lambda reference_len: (
                abs(reference_len - length),
                reference_len,
            ),
        )

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
