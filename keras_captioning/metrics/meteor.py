import shutil

from keras_captioning.metrics.corpus import tokenize_corpus


def meteor(references, hypotheses):
    """Computes the corpus METEOR score through the COCO evaluation's scorer.

    METEOR aligns words through exact matches, stems, synonyms and
    paraphrases, which needs the METEOR 1.5 Java program; this function
    runs the copy shipped with `pycocoevalcap` (`pycocoevalcap.meteor.
    Meteor`), so it needs that package and a `java` executable on the
    `PATH`. Captions are first split into words by `tokenize_caption` and
    joined with single spaces, like for the other metrics. Starting Java
    takes a few seconds and up to 2 GB of memory.

    Args:
        references: list with one entry per image, each a list of one or
            more reference captions (str).
        hypotheses: list of str, the generated caption of each image.

    Returns:
        A float in `[0, 1]`.

    Raises:
        ImportError: if `pycocoevalcap` is not installed. Install it with
            `pip install keras-captioning[meteor]`.
        RuntimeError: if no `java` executable is on the `PATH`, or the
            METEOR program fails. Install a Java runtime (8 or newer).
        TypeError: if the containers or the captions have the wrong type.
        ValueError: if the two lists differ in length, are empty, or an image
            has no reference or a reference has no word.

    Reference:
        Denkowski and Lavie, "Meteor Universal: Language Specific
        Translation Evaluation for Any Target Language", WMT 2014.

    Example:

    >>> references = [["a dog runs on the grass", "a brown dog running"]]
    >>> hypotheses = ["a dog runs on grass"]
    >>> score = keras_captioning.metrics.meteor(
    ...     references, hypotheses
    ... )  # doctest: +SKIP
    """
    reference_tokens, hypothesis_tokens = tokenize_corpus(
        references, hypotheses
    )
    return _meteor_from_tokens(reference_tokens, hypothesis_tokens)


def _meteor_from_tokens(reference_tokens, hypothesis_tokens):
    """`meteor` on captions already checked and tokenised."""
    try:
        from pycocoevalcap.meteor.meteor import Meteor
    except ImportError as error:
        raise ImportError(
            "`meteor` runs the METEOR scorer of the `pycocoevalcap` package, "
            "which is not installed. Install it with "
            "`pip install keras-captioning[meteor]` (or "
            "`pip install pycocoevalcap`), and make sure a `java` executable "
            "is on the PATH."
        ) from error
    if shutil.which("java") is None:
        raise RuntimeError(
            "`meteor` runs the METEOR 1.5 Java program shipped with "
            "`pycocoevalcap`, but no `java` executable was found on the PATH. "
            "Install a Java runtime (8 or newer), e.g. "
            "`apt-get install default-jre`, or leave METEOR out "
            "(`evaluate_captions(..., include_meteor=False)`)."
        )
    references_by_image = {
        image: [" ".join(reference) for reference in image_references]
        for image, image_references in enumerate(reference_tokens)
    }
    hypotheses_by_image = {
        image: [" ".join(hypothesis)]
        for image, hypothesis in enumerate(hypothesis_tokens)
    }
    scorer = Meteor()
    try:
        score, _ = scorer.compute_score(
            references_by_image, hypotheses_by_image
        )
    except (OSError, ValueError) as error:
        # The scorer reads its answers from the Java process's output; an
        # empty or garbled answer means the program failed to start or run.
        # It then still holds its lock, which its `__del__` would wait on
        # forever.
        if scorer.lock.locked():
            scorer.lock.release()
        raise RuntimeError(
            "The METEOR Java program failed. Check that `java -jar "
            "meteor-1.5.jar` runs in the `pycocoevalcap/meteor` folder and "
            f"that 2 GB of memory are free. Original error: {error}"
        ) from error
    finally:
        del scorer
    return float(score)
