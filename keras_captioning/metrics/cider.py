import numpy as np

from keras_captioning.metrics._ngrams import count_corpus_ngrams
from keras_captioning.metrics._ngrams import lookup
from keras_captioning.metrics._ngrams import sorted_unique
from keras_captioning.metrics.corpus import tokenize_corpus

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
    tokens = tokenize_corpus(references, hypotheses)
    return _cider_d_from_ngrams(count_corpus_ngrams(*tokens, _MAX_ORDER))


def _cider_d_from_ngrams(ngrams):
    """`cider_d` from the `count_corpus_ngrams` of checked, tokenised
    captions (`evaluate_captions` counts them once for every metric)."""
    return float(_image_scores(ngrams).mean())


def _stacked_ngrams(ngrams):
    """All orders' rows together; codes are shifted so each order has its
    own range. Returns `(offsets, order_of, ref rows, hyp rows)`."""
    offsets = np.cumsum([0] + [counts.num_ngrams for counts in ngrams.orders])
    order_of = np.repeat(
        np.arange(_MAX_ORDER),
        [counts.num_ngrams for counts in ngrams.orders],
    )
    ref = (
        np.concatenate([c.ref_caption for c in ngrams.orders]),
        np.concatenate(
            [c.ref_code + offsets[k] for k, c in enumerate(ngrams.orders)]
        ),
        np.concatenate([c.ref_count for c in ngrams.orders]),
    )
    hyp = (
        np.concatenate([c.hyp_image for c in ngrams.orders]),
        np.concatenate(
            [c.hyp_code + offsets[k] for k, c in enumerate(ngrams.orders)]
        ),
        np.concatenate([c.hyp_count for c in ngrams.orders]),
    )
    return offsets, order_of, ref, hyp


def _document_frequency(ngrams, ref_owner, ref_ngram, num_ngrams):
    """In how many images' reference sets each n-gram appears, counting an
    image once however many of its references repeat it."""
    ref_keys = ngrams.ref_image[ref_owner] * num_ngrams + ref_ngram
    return np.bincount(
        sorted_unique(ref_keys) % num_ngrams, minlength=num_ngrams
    )


def _image_scores(ngrams, fixed=None):
    """The CIDEr-D score of every image's hypothesis.

    Document frequencies come from the references in `ngrams`, or, with
    `fixed`, a `CiderD`, from the corpus it was built on (then `ngrams`
    must hold the n-grams' words).
    """
    num_images = len(ngrams.hyp_length)
    num_refs = len(ngrams.ref_image)
    offsets, order_of, ref_rows, hyp_rows = _stacked_ngrams(ngrams)
    num_ngrams = int(offsets[-1])
    ref_owner, ref_ngram, ref_count = ref_rows
    hyp_owner, hyp_ngram, hyp_count = hyp_rows

    if fixed is None:
        document_frequency = _document_frequency(
            ngrams, ref_owner, ref_ngram, num_ngrams
        )
        log_documents = np.log(float(num_images))
    else:
        document_frequency = fixed._lookup(ngrams)
        log_documents = fixed._log_documents
    idf = log_documents - np.log(np.maximum(document_frequency, 1.0))
    ref_weight = ref_count * idf[ref_ngram]
    hyp_weight = hyp_count * idf[hyp_ngram]
    ref_norm = _norms(ref_owner, order_of[ref_ngram], ref_weight, num_refs)
    hyp_norm = _norms(hyp_owner, order_of[hyp_ngram], hyp_weight, num_images)

    # Pair each reference n-gram with the same n-gram of its image's
    # hypothesis, if any, through sorted (image, n-gram) keys.
    ref_keys = ngrams.ref_image[ref_owner] * num_ngrams + ref_ngram
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
    return _SCALE * image_sum.mean(axis=1) / refs_per_image


class CiderD:
    """Per-caption CIDEr-D with document frequencies fixed from a corpus.

    `cider_d` scores a whole evaluation set and takes its document
    frequencies from that set, so the score of one caption depends on the
    other images scored with it. A reward for training needs a score per
    caption that does not: `CiderD(references)` counts, once, in how many
    images of `references` (typically the training references) each n-gram
    appears, and every call then scores each hypothesis against its own
    references with those frequencies and `log(len(references))` as the
    log number of documents, as the training code of Rennie et al. and
    ruotianluo's self-critical.pytorch do. The formula is otherwise that of
    `cider_d`: when the corpus is the evaluated set itself, the per-caption
    scores average to `cider_d` exactly.

    Args:
        references: list with one entry per image, each a list of one or
            more reference captions (str): the corpus of the document
            frequencies.

    Call arguments:
        hypotheses: list of str, one caption per entry of `references`.
        references: list with one entry per hypothesis, each a list of
            reference captions (str). The same image may appear several
            times (several samples of one image).

    Returns:
        NumPy float64 array `(len(hypotheses),)`, the CIDEr-D of every
        hypothesis, each at least 0 and at most 10.

    Example:

    >>> training_references = [
    ...     ["a dog runs on the grass", "a brown dog running"],
    ...     ["two cats sleep on a sofa", "cats sleeping on a couch"],
    ...     ["a man rides a bike", "a person riding a bicycle"],
    ... ]
    >>> scorer = keras_captioning.metrics.CiderD(training_references)
    >>> scores = scorer(
    ...     ["a dog runs on grass"], [["a dog runs on the grass"]]
    ... )
    >>> scores.shape, bool(scores[0] > 0)
    ((1,), True)
    """

    def __init__(self, references):
        reference_tokens, _ = tokenize_corpus(
            references, [""] * len(references)
        )
        ngrams = count_corpus_ngrams(
            reference_tokens,
            [[] for _ in reference_tokens],
            _MAX_ORDER,
            keep_words=True,
        )
        offsets, _, (ref_owner, ref_ngram, _), _ = _stacked_ngrams(ngrams)
        frequency = _document_frequency(
            ngrams, ref_owner, ref_ngram, int(offsets[-1])
        )
        self._frequencies = dict(
            zip(_ngram_keys(ngrams), frequency.tolist(), strict=True)
        )
        self.num_documents = len(reference_tokens)
        self._log_documents = np.log(float(self.num_documents))

    def __call__(self, hypotheses, references):
        reference_tokens, hypothesis_tokens = tokenize_corpus(
            references, hypotheses
        )
        ngrams = count_corpus_ngrams(
            reference_tokens, hypothesis_tokens, _MAX_ORDER, keep_words=True
        )
        return _image_scores(ngrams, fixed=self)

    def _lookup(self, ngrams):
        frequencies = self._frequencies
        return np.array(
            [frequencies.get(key, 0) for key in _ngram_keys(ngrams)],
            dtype=np.float64,
        )

    def __repr__(self):
        return f"CiderD(num_documents={self.num_documents})"


def _ngram_keys(ngrams):
    """The words of every n-gram code, all orders in code order, as tuples."""
    vocabulary = ngrams.vocabulary
    return [
        tuple(vocabulary[word] for word in row)
        for counts in ngrams.orders
        for row in counts.words.tolist()
    ]


def _norms(owner, order, weight, num_captions):
    """Euclidean norm of each caption's weights, per n-gram order."""
    squares = np.bincount(
        owner * _MAX_ORDER + order,
        weights=weight**2,
        minlength=num_captions * _MAX_ORDER,
    )
    return np.sqrt(squares).reshape(num_captions, _MAX_ORDER)
