import keras

from keras_captioning import _validation
from keras_captioning.metrics._ngrams import count_corpus_ngrams
from keras_captioning.metrics.bleu import _bleu_from_ngrams
from keras_captioning.metrics.cider import _cider_d_from_ngrams
from keras_captioning.metrics.corpus import tokenize_corpus
from keras_captioning.metrics.meteor import _meteor_from_tokens
from keras_captioning.metrics.rouge import _rouge_l_from_tokens


def evaluate_captions(references, hypotheses, include_meteor=False):
    """Computes every caption metric of the COCO evaluation at once.

    Captions are checked and split into words by `tokenize_caption` once,
    then scored by `corpus_bleu`, `rouge_l`, `cider_d` and, when asked,
    `meteor`; see those functions for the definitions.

    Args:
        references: list with one entry per image, each a list of one or
            more reference captions (str).
        hypotheses: list of str, the generated caption of each image.
        include_meteor: bool. Whether to add METEOR, which needs
            `pycocoevalcap` and a `java` executable and takes a few seconds
            to start. Defaults to `False`.

    Returns:
        A dict of floats with the keys `"BLEU-1"`, `"BLEU-2"`, `"BLEU-3"`,
        `"BLEU-4"`, `"ROUGE-L"` and `"CIDEr-D"`, plus `"METEOR"` when
        `include_meteor` is `True`.

    Raises:
        TypeError: if the containers or the captions have the wrong type.
        ValueError: if the two lists differ in length, are empty, or an image
            has no reference or a reference has no word.
        ImportError, RuntimeError: if METEOR is asked for but `pycocoevalcap`
            or Java is missing.

    Example:

    >>> references = [
    ...     ["a dog runs on the grass", "a brown dog running"],
    ...     ["two cats sleep on a sofa", "cats sleeping on a couch"],
    ... ]
    >>> hypotheses = ["a dog runs on grass", "two cats on a couch"]
    >>> scores = keras_captioning.metrics.evaluate_captions(
    ...     references, hypotheses
    ... )
    >>> for name, value in scores.items():
    ...     print(f"{name}: {value:.3f}")
    BLEU-1: 1.000
    BLEU-2: 0.866
    BLEU-3: 0.721
    BLEU-4: 0.553
    ROUGE-L: 0.847
    CIDEr-D: 3.329
    """
    if not isinstance(include_meteor, bool):
        raise TypeError(
            "`include_meteor` must be a bool. Received: "
            f"include_meteor={include_meteor!r}"
        )
    reference_tokens, hypothesis_tokens = tokenize_corpus(
        references, hypotheses
    )
    # BLEU and CIDEr-D share one count of the corpus's n-grams.
    ngrams = count_corpus_ngrams(reference_tokens, hypothesis_tokens)
    bleu = _bleu_from_ngrams(ngrams)
    scores = {f"BLEU-{order}": bleu[order - 1] for order in range(1, 5)}
    if include_meteor:
        scores["METEOR"] = _meteor_from_tokens(
            reference_tokens, hypothesis_tokens
        )
    scores["ROUGE-L"] = _rouge_l_from_tokens(
        reference_tokens, hypothesis_tokens
    )
    scores["CIDEr-D"] = _cider_d_from_ngrams(ngrams)
    return scores


def evaluate_captioner(
    captioner,
    images,
    references,
    batch_size=32,
    verbose=1,
    *,
    include_meteor=False,
    return_captions=False,
    **generate_options,
):
    """Captions a set of images and scores the captions against references.

    The images are cut into batches of `batch_size`, each captioned by
    `captioner.caption(batch, **generate_options)`, and the captions are
    scored by `evaluate_captions`. The references are checked before any
    caption is generated, so a malformed reference fails at once.

    Args:
        captioner: any object with a method `caption(images, **options)`
            that returns a list of str, one caption per image, such as a
            `keras_captioning.models.ImageCaptioner`.
        images: array-like of images (for example a NumPy array of shape
            `(num_images, height, width, channels)`) supporting `len()` and
            slicing along the first axis, in the form `captioner.caption`
            expects.
        references: list with one entry per image, each a list of one or
            more reference captions (str).
        batch_size: int. Number of images captioned per call. Defaults to
            `32`.
        verbose: `0` (silent), `1` (progress bar) or `2` (one line at the
            end). Defaults to `1`.
        include_meteor: bool. Whether to add METEOR (needs `pycocoevalcap`
            and Java). Defaults to `False`.
        return_captions: bool. Whether to also return the generated
            captions. Defaults to `False`.
        **generate_options: keyword arguments passed on to
            `captioner.caption`, such as a decoding strategy or a maximum
            length.

    Returns:
        The dict of `evaluate_captions`; with `return_captions=True`, a tuple
        `(scores, captions)` where `captions` is the list of generated
        captions in image order.

    Raises:
        TypeError: if `captioner` has no `caption` method, or it returns
            something other than a list of str.
        ValueError: if `images` and `references` differ in length, if
            `batch_size` or `verbose` is out of range, or if `caption`
            returns the wrong number of captions.

    Example:

    >>> class EchoCaptioner:
    ...     def caption(self, images):
    ...         return ["a dog runs on grass"] * len(images)
    >>> scores = keras_captioning.metrics.evaluate_captioner(
    ...     EchoCaptioner(),
    ...     np.zeros((2, 8, 8, 3)),
    ...     [["a dog runs on the grass"], ["a dog running on grass"]],
    ...     verbose=0,
    ... )
    >>> round(scores["BLEU-1"], 3)
    0.814
    """
    caption = getattr(captioner, "caption", None)
    if not callable(caption):
        raise TypeError(
            "`captioner` must have a method `caption(images, **options)` "
            "returning a list of str. Received: captioner of type "
            f"{type(captioner).__name__}, which has none"
        )
    _check_positive_int("batch_size", batch_size)
    if verbose not in (0, 1, 2):
        raise ValueError(
            f"`verbose` must be 0, 1 or 2. Received: verbose={verbose!r}"
        )
    num_images = _validation.check_images_and_references(images, references)
    # Fail on a malformed reference before spending time on generation.
    tokenize_corpus(references, [""] * num_images)

    progress = keras.utils.Progbar(
        num_images, verbose=verbose, unit_name="image"
    )
    captions = []
    for start in range(0, num_images, batch_size):
        batch = images[start : start + batch_size]
        batch_captions = caption(batch, **generate_options)
        _check_captions(
            batch_captions, start, min(batch_size, num_images - start)
        )
        captions.extend(batch_captions)
        progress.add(len(batch_captions))

    scores = evaluate_captions(
        references, captions, include_meteor=include_meteor
    )
    if return_captions:
        return scores, captions
    return scores


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"`{name}` must be a positive int. Received: {name}={value!r}"
        )


def _check_captions(captions, start, expected):
    if not isinstance(captions, (list, tuple)) or not all(
        isinstance(text, str) for text in captions
    ):
        raise TypeError(
            "`captioner.caption` must return a list of str. Received, for "
            f"the batch starting at image {start}: {captions!r:.200}"
        )
    if len(captions) != expected:
        raise ValueError(
            "`captioner.caption` must return one caption per image. "
            f"Received {len(captions)} captions for the {expected} images "
            f"starting at image {start}"
        )
