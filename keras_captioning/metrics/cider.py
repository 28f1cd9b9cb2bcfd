import numpy as np

from keras_captioning.metrics._inputs import tokenize_corpus
from keras_captioning.metrics._ngrams import count_corpus_ngrams
from keras_captioning.metrics._ngrams import lookup
from keras_captioning.metrics._ngrams import sorted_unique

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


def _cider_d_from_tokens(reference_tokens, hypothesis_tokens, ngrams=None):
    """`cider_d` on captions already checked and tokenised.

    `ngrams`, the `count_corpus_ngrams` of the captions, may be passed when
    it is already computed.
    """
    if ngrams is None:
        ngrams = count_corpus_ngrams(
            reference_tokens, hypothesis_tokens, _MAX_ORDER
        )
    num_images = len(ngrams.hyp_length)
    num_refs = len(ngrams.ref_image)
    # One row per (caption, n-gram) for all orders together: n-gram codes
    # are shifted so that each order has its own range.
    offsets = np.cumsum([0] + [counts.num_ngrams for counts in ngrams.orders])
    num_ngrams = int(offsets[-1])
    order_of = np.repeat(
        np.arange(_MAX_ORDER),
        [counts.num_ngrams for counts in ngrams.orders],
    )
    ref_owner = np.concatenate([c.ref_caption for c in ngrams.orders])
    ref_ngram = np.concatenate(
        [c.ref_code + offsets[k] for k, c in enumerate(ngrams.orders)]
    )
    ref_count = np.concatenate([c.ref_count for c in ngrams.orders])
    hyp_owner = np.concatenate([c.hyp_image for c in ngrams.orders])
    hyp_ngram = np.concatenate(
        [c.hyp_code + offsets[k] for k, c in enumerate(ngrams.orders)]
    )
    hyp_count = np.concatenate([c.hyp_count for c in ngrams.orders])

    # Document frequency: in how many images' reference sets each n-gram
    # appears, counting an image once however many references repeat it.
    ref_keys = ngrams.ref_image[ref_owner] * num_ngrams + ref_ngram
    document_frequency = np.bincount(
        sorted_unique(ref_keys) % num_ngrams, minlength=num_ngrams
    )
    idf = np.log(float(num_images)) - np.log(
        np.maximum(document_frequency, 1.0)
    )
    ref_weight = ref_count * idf[ref_ngram]
    hyp_weight = hyp_count * idf[hyp_ngram]
    ref_norm = _norms(ref_owner, order_of[ref_ngram], ref_weight, num_refs)
    hyp_norm = _norms(hyp_owner, order_of[hyp_ngram], hyp_weight, num_images)

    # Pair each reference n-gram with the same n-gram of its image's
    # hypothesis, if any, through sorted (image, n-gram) keys.
    hyp_keys = hyp_owner * num_ngrams + hyp_ngram
    hyp_sort = np.argsort(hyp_keys)
    shared, index = lookup(hyp_keys[hyp_sort], ref_keys)
    matched_hyp_weight = hyp_weight[hyp_sort[index]]
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

    norm_product = hyp_norm[ngrams.ref_image] * ref_norm
    # A zero norm means all weights are zero, and then so is the dot product.
    similarity = np.divide(
        dot, norm_product, out=np.zeros(dot.shape), where=norm_product != 0
    )
    # COCO's length penalty measures captions in bigrams, not words; the two
    # differ only for an empty caption, whose score is 0 anyway.
    ref_bigrams = np.maximum(ngrams.ref_length - 1, 0)
    hyp_bigrams = np.maximum(ngrams.hyp_length - 1, 0)
    delta = (hyp_bigrams[ngrams.ref_image] - ref_bigrams).astype(np.float64)
    similarity *= np.exp(-(delta**2) / (2.0 * _SIGMA**2))[:, None]

    image_sum = np.zeros((num_images, _MAX_ORDER))
    np.add.at(image_sum, ngrams.ref_image, similarity)
    refs_per_image = np.bincount(ngrams.ref_image, minlength=num_images)
    image_scores = _SCALE * image_sum.mean(axis=1) / refs_per_image
    return float(image_scores.mean())


def _norms(owner, order, weight, num_captions):
    """Euclidean norm of each caption's weights, per n-gram order."""
    squares = np.bincount(
        owner * _MAX_ORDER + order,
        weights=weight**2,
        minlength=num_captions * _MAX_ORDER,
    )
    return np.sqrt(squares).reshape(num_captions, _MAX_ORDER)
