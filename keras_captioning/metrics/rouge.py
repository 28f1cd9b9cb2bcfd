from keras_captioning.metrics.corpus import tokenize_corpus

_BETA = 1.2


def rouge_l(references, hypotheses):
    """Computes ROUGE-L averaged over images, as the COCO evaluation does.

    Every caption is first split into words by `tokenize_caption`. For each
    image, the longest common subsequence (LCS) of the hypothesis with each
    reference gives a precision `lcs / len(hypothesis)` and a recall
    `lcs / len(reference)`. The image's score combines the largest precision
    `P` and the largest recall `R` over its references, which may come from
    different references, into the F-measure
    `(1 + beta**2) * P * R / (R + beta**2 * P)` with `beta = 1.2`; it is 0
    when `P` or `R` is 0, as for an empty hypothesis. The corpus score is
    the mean over images.

    This is `pycocoevalcap.rouge.Rouge`; with the same tokenised input the
    numbers equal COCO's.

    Args:
        references: list with one entry per image, each a list of one or
            more reference captions (str).
        hypotheses: list of str, the generated caption of each image.

    Returns:
        A float in `[0, 1]`.

    Raises:
        TypeError: if the containers or the captions have the wrong type.
        ValueError: if the two lists differ in length, are empty, or an image
            has no reference or a reference has no word.

    Reference:
        Lin, "ROUGE: A Package for Automatic Evaluation of Summaries",
        ACL Workshop 2004.

    Example:

    >>> references = [["a dog runs on the grass", "a brown dog running"]]
    >>> hypotheses = ["a dog runs on grass"]
    >>> round(keras_captioning.metrics.rouge_l(references, hypotheses), 4)
    0.8944
    """
    reference_tokens, hypothesis_tokens = tokenize_corpus(
        references, hypotheses
    )
    return _rouge_l_from_tokens(reference_tokens, hypothesis_tokens)


def _rouge_l_from_tokens(reference_tokens, hypothesis_tokens):
    """`rouge_l` on captions already checked and tokenised."""
    beta_squared = _BETA**2
    total = 0.0
    for image_references, hypothesis in zip(
        reference_tokens, hypothesis_tokens, strict=True
    ):
        if not hypothesis:
            continue
        masks = _position_masks(hypothesis)
        lcs_lengths = [
            _lcs_length(masks, len(hypothesis), reference)
            for reference in image_references
        ]
        precision = max(lcs_lengths) / len(hypothesis)
        recall = max(
            lcs / len(reference)
            for lcs, reference in zip(
                lcs_lengths, image_references, strict=True
            )
        )
        if precision > 0 and recall > 0:
            total += ((1 + beta_squared) * precision * recall) / (
                recall + beta_squared * precision
            )
    return float(total / len(hypothesis_tokens))


def _position_masks(tokens):
    """Maps each word to a bit mask of the positions where it occurs."""
    masks = {}
    for position, token in enumerate(tokens):
        masks[token] = masks.get(token, 0) | (1 << position)
    return masks


def _lcs_length(masks, length, other):
    """Length of the longest common subsequence of two token lists.

    The bit-parallel algorithm of Hyyro (2004) keeps one row of the LCS
    dynamic programme as the bits of a Python integer, so each word of
    `other` costs a few integer operations instead of a loop over the
    `length` words of the first list, whose `masks` come from
    `_position_masks`. A zero bit marks a position where the LCS grows.
    """
    all_ones = (1 << length) - 1
    row = all_ones
    for token in other:
        matches = row & masks.get(token, 0)
        row = ((row + matches) | (row - matches)) & all_ones
    return length - row.bit_count()
