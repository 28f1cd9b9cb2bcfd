import numpy as np
import pytest

from keras_captioning import metrics

SCORERS = {
    "corpus_bleu": metrics.corpus_bleu,
    "cider_d": metrics.cider_d,
    "rouge_l": metrics.rouge_l,
    "meteor": metrics.meteor,
    "evaluate_captions": metrics.evaluate_captions,
}

BAD_INPUTS = {
    "different lengths": (
        [["a dog"], ["a cat"]],
        ["a dog"],
        ValueError,
        r"same length\. Received: len\(references\)=2, len\(hypotheses\)=1",
    ),
    "no images": ([], [], ValueError, "at least one"),
    "image without references": (
        [["a dog"], []],
        ["a dog", "a cat"],
        ValueError,
        r"references\[1\]=\[\]",
    ),
    "non-string hypothesis": (
        [["a dog"]],
        [None],
        TypeError,
        r"hypotheses\[0\]=None of type NoneType",
    ),
    "non-string reference": (
        [["a dog", 7]],
        ["a dog"],
        TypeError,
        r"references\[0\]\[1\]=7 of type int",
    ),
    "string instead of a list of references": (
        ["a dog runs"],
        ["a dog"],
        TypeError,
        r"wrap a single caption in a list.*references\[0\]='a dog runs'",
    ),
    "reference without words": (
        [["a dog", "?!"]],
        ["a dog"],
        ValueError,
        r"references\[0\]\[1\]='\?!'",
    ),
    "references not a list": (
        {"image.jpg": ["a dog"]},
        ["a dog"],
        TypeError,
        "`references` must be a list.*of type dict",
    ),
    "hypotheses a single string": (
        [["a dog"]],
        "a dog",
        TypeError,
        "`hypotheses` must be a list of str.*of type str",
    ),
}


def test_rejects_bad_input_with_clear_message():
    for case, (references, hypotheses, error, message) in BAD_INPUTS.items():
        for name, scorer in SCORERS.items():
            with pytest.raises(error, match=message):
                scorer(references, hypotheses)
                pytest.fail(f"{name} accepted {case}")


def test_accepts_tuples_and_numpy_string_arrays():
    references = (("a dog runs", "a dog"), ["two cats sleep"])
    hypotheses = np.array(["a dog runs", "two cats"])
    assert metrics.evaluate_captions(
        references, hypotheses
    ) == metrics.evaluate_captions(
        [["a dog runs", "a dog"], ["two cats sleep"]],
        ["a dog runs", "two cats"],
    )
