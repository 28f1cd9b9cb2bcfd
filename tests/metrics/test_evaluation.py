import numpy as np
import pytest

from keras_captioning import metrics

REFERENCES = [
    ["A dog runs on the grass.", "a brown dog running"],
    ["Two cats sleep on a sofa!", "cats sleeping on a couch"],
    ["a man rides a red bike", "a cyclist on a street"],
    ["a plate of food", "some food on a white plate"],
    ["a bus on the road"],
]


class FakeCaptioner:
    """Captions image `i` (a constant array filled with `i`) from a table."""

    def __init__(self, captions):
        self.captions = captions
        self.calls = []

    def caption(self, images, **options):
        self.calls.append((len(images), options))
        return [self.captions[int(image.flat[0])] for image in images]


def indexed_images(count):
    return np.arange(count, dtype="float32").reshape(count, 1, 1, 1) * np.ones(
        (1, 4, 4, 3), dtype="float32"
    )


def test_evaluate_captions_collects_every_metric():
    hypotheses = ["a dog on grass", "two cats", "a man on a bike", "", "a bus"]
    scores = metrics.evaluate_captions(REFERENCES, hypotheses)
    bleu = metrics.corpus_bleu(REFERENCES, hypotheses)
    assert scores == {
        "BLEU-1": bleu[0],
        "BLEU-2": bleu[1],
        "BLEU-3": bleu[2],
        "BLEU-4": bleu[3],
        "ROUGE-L": metrics.rouge_l(REFERENCES, hypotheses),
        "CIDEr-D": metrics.cider_d(REFERENCES, hypotheses),
    }
    assert all(type(value) is float for value in scores.values())


def test_evaluate_captions_rejects_non_bool_include_meteor():
    with pytest.raises(TypeError, match="include_meteor='yes'"):
        metrics.evaluate_captions(REFERENCES, ["a"] * 5, include_meteor="yes")


def test_evaluate_captioner_batches_in_order_and_forwards_options():
    captions = ["a dog on grass", "two cats", "a man on a bike", "", "a bus"]
    captioner = FakeCaptioner(captions)
    scores, generated = metrics.evaluate_captioner(
        captioner,
        indexed_images(5),
        REFERENCES,
        batch_size=2,
        verbose=0,
        return_captions=True,
        strategy="beam",
        max_length=12,
    )
    assert generated == captions
    assert captioner.calls == [
        (2, {"strategy": "beam", "max_length": 12}),
        (2, {"strategy": "beam", "max_length": 12}),
        (1, {"strategy": "beam", "max_length": 12}),
    ]
    assert scores == metrics.evaluate_captions(REFERENCES, captions)


def test_evaluate_captioner_returns_only_scores_by_default():
    captioner = FakeCaptioner(["a dog"] * 5)
    scores = metrics.evaluate_captioner(
        captioner, indexed_images(5), REFERENCES, verbose=0
    )
    assert scores == metrics.evaluate_captions(REFERENCES, ["a dog"] * 5)
    assert captioner.calls == [(5, {})]


def test_evaluate_captioner_shows_progress_only_when_verbose(capsys):
    captioner = FakeCaptioner(["a dog"] * 5)
    metrics.evaluate_captioner(captioner, indexed_images(5), REFERENCES)
    assert "5/5" in capsys.readouterr().out
    metrics.evaluate_captioner(
        captioner, indexed_images(5), REFERENCES, verbose=0
    )
    assert capsys.readouterr().out == ""


def test_evaluate_captioner_checks_references_before_captioning():
    captioner = FakeCaptioner(["a dog"] * 2)
    with pytest.raises(ValueError, match=r"references\[1\]=\[\]"):
        metrics.evaluate_captioner(
            captioner, indexed_images(2), [["a dog"], []], verbose=0
        )
    assert captioner.calls == []


BAD_ARGUMENTS = [
    ({"captioner": object()}, TypeError, "must have a method `caption"),
    ({"batch_size": 0}, ValueError, "batch_size=0"),
    ({"batch_size": 2.0}, ValueError, "batch_size=2.0"),
    ({"verbose": 3}, ValueError, "verbose=3"),
    ({"images": indexed_images(4)}, ValueError, "len\\(images\\)=4"),
    ({"images": 5}, TypeError, "images of type int"),
]


def test_evaluate_captioner_rejects_bad_arguments():
    for arguments, error, message in BAD_ARGUMENTS:
        call = {
            "captioner": FakeCaptioner(["a dog"] * 5),
            "images": indexed_images(5),
            "references": REFERENCES,
            "verbose": 0,
        }
        call.update(arguments)
        with pytest.raises(error, match=message):
            metrics.evaluate_captioner(**call)


class WrongCaptioner:
    def __init__(self, output):
        self.output = output

    def caption(self, images):
        return self.output


BAD_OUTPUTS = [
    (["a dog"] * 4, ValueError, "Received 4 captions for the 5 images"),
    ("a dog", TypeError, "must return a list of str"),
    ([b"a dog"] * 5, TypeError, "must return a list of str"),
]


def test_evaluate_captioner_rejects_bad_captions():
    for output, error, message in BAD_OUTPUTS:
        with pytest.raises(error, match=message):
            metrics.evaluate_captioner(
                WrongCaptioner(output), indexed_images(5), REFERENCES, verbose=0
            )
