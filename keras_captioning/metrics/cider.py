import numpy as np

from keras_captioning.metrics._inputs import tokenize_corpus
from keras_captioning.metrics._ngrams import count_ngrams

_MAX_ORDER = 4
_SIGMA = 6.0
_SCALE = 10.0


def cider_d(references, hypotheses):
    """Computes the corpus CIDEr-D score as the COCO evaluation does.

    Every caption is first split into words by `tokenize_caption`. Each
    caption then becomes, for every n-gram order `n` from 1 to 4, a vector
    of TF-IDF weights: the count of each n-gram in the caption times
    `log(num_images / max(1, df))`, where the document frequency `df` is the
    number of images whose references contain the n-gram. The document
    frequencies come from the references of the evaluated set itself, so
    the score of a caption depends on the other images passed in the same
    call; with a single image every weight is zero and so is the score.

    For one image and one reference, the similarity of order `n` is a
    cosine similarity in which each hypothesis weight is first clipped to
    the reference's weight (so repeating a word earns nothing), multiplied
    by the Gaussian length penalty `exp(-delta**2 / (2 * 6**2))`. As in the
    COCO code, `delta` is the difference of the two captions' bigram counts,
    which is their difference in words whenever both have a word. The score
    of an image is 10 times the mean over the four orders of the similarity
    averaged over its references; the corpus score is the mean over images.

    This is CIDEr-D, the variant implemented by `pycocoevalcap.cider.Cider`
    (n = 1..4, sigma = 6, clipping, x10). With the same tokenised input, the
    numbers equal COCO's.

    Args:
        references: list with one entry per image, each a list of one or
            more reference captions (str).
        hypotheses: list of str, the generated caption of each image.

    Returns:
        A float, at least 0 and at most 10.

    Raises:
        TypeError: if the containers or the captions have the wrong type.
        ValueError: if the two lists differ in length, are empty, or an image
            has no reference or a reference has no word.

    Reference:
        Vedantam et al., "CIDEr: Consensus-based Image Description
        Evaluation", CVPR 2015.

    Example:

    >>> references = [
    ...     ["a dog runs on the grass", "a brown dog running"],
    ...     ["two cats sleep on a sofa", "cats sleeping on a couch"],
    ... ]
    >>> hypotheses = ["a dog runs on grass", "two cats on a couch"]
    >>> round(keras_captioning.metrics.cider_d(references, hypotheses), 4)
    3.3293
    """
    reference_tokens, hypothesis_tokens = tokenize_corpus(
        references, hypotheses
    )
    return _cider_d_from_tokens(reference_tokens, hypothesis_tokens)


def _bigram_count(tokens):
    # COCO's length penalty measures captions in bigrams, not words.
    return max(len(tokens) - 1, 0)


def _cider_d_from_tokens(reference_tokens, hypothesis_tokens):
    """`cider_d` on captions already checked and tokenised."""
    num_images = len(hypothesis_tokens)
    # Every caption's n-grams go into flat arrays, one row per (caption,
    # n-gram), so the weights, norms and dot products are computed for the
    # whole corpus at once by NumPy instead of n-gram by n-gram.
    ngram_ids = {}
    ref_rows = {"owner": [], "ngram": [], "count": []}
    ref_image = []
    ref_length = []
    for image, image_references in enumerate(reference_tokens):
        for reference in image_references:
            owner = len(ref_image)
            for ngram, count in count_ngrams(reference, _MAX_ORDER).items():
                ref_rows["owner"].append(owner)
                ref_rows["ngram"].append(
                    ngram_ids.setdefault(ngram, len(ngram_ids))
                )
                ref_rows["count"].append(count)
            ref_image.append(image)
            ref_length.append(_bigram_count(reference))
    hyp_rows = {"owner": [], "ngram": [], "count": []}
    for image, hypothesis in enumerate(hypothesis_tokens):
        for ngram, count in count_ngrams(hypothesis, _MAX_ORDER).items():
            hyp_rows["owner"].append(image)
            hyp_rows["ngram"].append(
                ngram_ids.setdefault(ngram, len(ngram_ids))
            )
            hyp_rows["count"].append(count)
    hyp_length = np.array(
        [_bigram_count(hypothesis) for hypothesis in hypothesis_tokens],
        dtype=np.float64,
    )

    num_ngrams = len(ngram_ids)
    order_of = np.zeros(num_ngrams, dtype=np.int64)
    for ngram, ngram_id in ngram_ids.items():
        order_of[ngram_id] = len(ngram) - 1
    ref_image = np.array(ref_image, dtype=np.int64)
    ref_owner = np.array(ref_rows["owner"], dtype=np.int64)
    ref_ngram = np.array(ref_rows["ngram"], dtype=np.int64)
    ref_count = np.array(ref_rows["count"], dtype=np.float64)
    hyp_owner = np.array(hyp_rows["owner"], dtype=np.int64)
    hyp_ngram = np.array(hyp_rows["ngram"], dtype=np.int64)
    hyp_count = np.array(hyp_rows["count"], dtype=np.float64)

    # Document frequency: in how many images' reference sets each n-gram
    # appears, counting an image once however many references repeat it.
    image_ngram_keys = np.unique(ref_image[ref_owner] * num_ngrams + ref_ngram)
    document_frequency = np.bincount(
        image_ngram_keys % num_ngrams, minlength=num_ngrams
    )
    idf = np.log(float(num_images)) - np.log(
        np.maximum(document_frequency, 1.0)
    )
    ref_weight = ref_count * idf[ref_ngram]
    hyp_weight = hyp_count * idf[hyp_ngram]

    num_refs = len(ref_image)
    ref_norm = _norms(ref_owner, ref_ngram, ref_weight, order_of, num_refs)
    hyp_norm = _norms(hyp_owner, hyp_ngram, hyp_weight, order_of, num_images)

    # Pair each reference n-gram with the same n-gram of its image's
    # hypothesis, if any, through sorted (image, n-gram) keys.
    hyp_keys = hyp_owner * num_ngrams + hyp_ngram
    hyp_sort = np.argsort(hyp_keys)
    sorted_hyp_keys = hyp_keys[hyp_sort]
    ref_keys = ref_image[ref_owner] * num_ngrams + ref_ngram
    position = np.searchsorted(sorted_hyp_keys, ref_keys)
    position = np.minimum(position, len(sorted_hyp_keys) - 1)
    if len(sorted_hyp_keys):
        shared = sorted_hyp_keys[position] == ref_keys
    else:
        shared = np.zeros(len(ref_keys), dtype=bool)
    matched_hyp_weight = hyp_weight[hyp_sort[position[shared]]]
    matched_ref_weight = ref_weight[shared]
    # CIDEr-D clips each hypothesis weight to the reference's weight.
    products = np.minimum(matched_hyp_weight, matched_ref_weight) * (
        matched_ref_weight
    )
    dot = np.bincount(
        ref_owner[shared] * _MAX_ORDER + order_of[ref_ngram[shared]],
        weights=products,
        minlength=num_refs * _MAX_ORDER,
    ).reshape(num_refs, _MAX_ORDER)

    norm_product = hyp_norm[ref_image] * ref_norm
    # A zero norm means all weights are zero, and then so is the dot product.
    similarity = np.divide(
        dot, norm_product, out=np.zeros(dot.shape), where=norm_product != 0
    )
    delta = hyp_length[ref_image] - np.array(ref_length, dtype=np.float64)
    similarity *= np.exp(-(delta**2) / (2.0 * _SIGMA**2))[:, None]

    image_sum = np.zeros((num_images, _MAX_ORDER))
    np.add.at(image_sum, ref_image, similarity)
    refs_per_image = np.bincount(ref_image, minlength=num_images)
    image_scores = _SCALE * image_sum.mean(axis=1) / refs_per_image
    return float(image_scores.mean())


def _norms(owner, ngram, weight, order_of, num_captions):
    """Euclidean norm of each caption's weights, per n-gram order."""
    squares = np.bincount(
        owner * _MAX_ORDER + order_of[ngram],
        weights=weight**2,
        minlength=num_captions * _MAX_ORDER,
    )
    return np.sqrt(squares).reshape(num_captions, _MAX_ORDER)
