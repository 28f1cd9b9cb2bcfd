import shutil
import sys

import keras
import pytest

from keras_captioning import metrics

REFERENCES = [
    ["A dog runs on the grass.", "a brown dog running"],
    ["Two cats sleep on a sofa!"],
]
HYPOTHESES = ["a dog runs on grass", "two cats on a couch"]


def test_without_java_raises_a_clear_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="no `java` executable"):
        metrics.meteor(REFERENCES, HYPOTHESES)
    with pytest.raises(RuntimeError, match="include_meteor=False"):
        metrics.evaluate_captions(REFERENCES, HYPOTHESES, include_meteor=True)


def test_without_pycocoevalcap_raises_a_clear_error(monkeypatch):
    # A `None` entry in `sys.modules` makes the import fail.
    monkeypatch.setitem(sys.modules, "pycocoevalcap.meteor.meteor", None)
    with pytest.raises(ImportError, match="pip install keras-captioning"):
        metrics.meteor(REFERENCES, HYPOTHESES)


def test_checks_input_before_looking_for_java(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="same length"):
        metrics.meteor(REFERENCES, HYPOTHESES[:1])


@pytest.mark.skipif(
    shutil.which("java") is None,
    reason="METEOR runs a Java program and no `java` executable is on PATH",
)
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="METEOR runs in Java whatever the Keras backend; its ~15 s "
    "start-up is paid once, in the tensorflow run",
)
def test_with_java_matches_pycocoevalcap_on_tokenized_captions():
    # Starting METEOR's Java program takes about 15 s, so this is the one
    # test that does. The expected value is pycocoevalcap's Meteor on the
    # tokenised captions: "a dog runs on the grass", ..., "two cats on a
    # couch".
    scores = metrics.evaluate_captions(
        REFERENCES, HYPOTHESES, include_meteor=True
    )
    assert scores["METEOR"] == pytest.approx(0.4149179771727435, abs=1e-6)
    assert list(scores) == [
        "BLEU-1",
        "BLEU-2",
        "BLEU-3",
        "BLEU-4",
        "METEOR",
        "ROUGE-L",
        "CIDEr-D",
    ]
