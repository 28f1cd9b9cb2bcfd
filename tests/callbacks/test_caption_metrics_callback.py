import doctest
import importlib
import os

import keras
import numpy as np
import pytest

import keras_captioning
from keras_captioning import callbacks
from keras_captioning import metrics

REFERENCES = [
    ["a dog runs on the grass", "a brown dog running"],
    ["two cats sleep on a sofa", "cats sleeping on a couch"],
    ["a man rides a red bike", "a cyclist on a street"],
]
IMAGES = np.zeros((3, 4, 4, 3), dtype="float32")
GOOD = ["a dog runs on the grass", "two cats sleep on a sofa", "a man rides"]
BAD = ["a sofa", "a red dog", "grass"]


class ScriptedCaptioner(keras.Model):
    """A tiny regression model whose captions follow a script.

    The n-th call to `caption` returns the captions of `script[n]` (the
    last entry once the script is used up), for the images it is given.
    """

    def __init__(self, script, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(1)
        self.script = tuple(tuple(captions) for captions in script)
        self.num_caption_calls = 0
        self.last_options = None

    def call(self, inputs):
        return self.dense(inputs)

    def caption(self, images, **options):
        step = min(self.num_caption_calls, len(self.script) - 1)
        self.num_caption_calls += 1
        self.last_options = options
        return list(self.script[step][: len(images)])


def fit(model, callback_list, epochs):
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((4, 2), dtype="float32")
    y = np.zeros((4, 1), dtype="float32")
    return model.fit(
        x, y, batch_size=4, epochs=epochs, callbacks=callback_list, verbose=0
    )


def test_scores_reach_history():
    model = ScriptedCaptioner([GOOD, BAD])
    callback = callbacks.CaptionMetricsCallback(IMAGES, REFERENCES, verbose=0)
    history = fit(model, [callback], epochs=2)
    expected = [
        metrics.evaluate_captions(REFERENCES, GOOD),
        metrics.evaluate_captions(REFERENCES, BAD),
    ]
    for name in ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L", "CIDEr-D"]:
        assert history.history[f"val_{name}"] == pytest.approx(
            [scores[name] for scores in expected], abs=1e-12
        ), name
    assert history.history["val_CIDEr-D"][0] > history.history["val_CIDEr-D"][1]
    assert len(history.history["loss"]) == 2


def test_early_stopping_monitors_the_score():
    model = ScriptedCaptioner([GOOD, BAD, BAD, BAD])
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_CIDEr-D", mode="max", patience=1
    )
    callback = callbacks.CaptionMetricsCallback(IMAGES, REFERENCES, verbose=0)
    history = fit(model, [callback, early_stopping], epochs=6)
    # The score falls after the first epoch: patience 1 stops at the second.
    assert early_stopping.stopped_epoch == 1
    assert len(history.history["loss"]) == 2


def test_model_checkpoint_saves_only_improving_epochs(tmp_path):
    model = ScriptedCaptioner([BAD, GOOD, BAD])
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "epoch-{epoch}.weights.h5"),
        monitor="val_CIDEr-D",
        mode="max",
        save_best_only=True,
        save_weights_only=True,
    )
    callback = callbacks.CaptionMetricsCallback(IMAGES, REFERENCES, verbose=0)
    fit(model, [callback, checkpoint], epochs=3)
    assert sorted(os.listdir(tmp_path)) == [
        "epoch-1.weights.h5",
        "epoch-2.weights.h5",
    ]


def test_evaluates_every_n_epochs_with_prefix_and_options():
    model = ScriptedCaptioner([GOOD, BAD])
    callback = callbacks.CaptionMetricsCallback(
        IMAGES,
        REFERENCES,
        every_n_epochs=2,
        batch_size=2,
        verbose=0,
        prefix="eval_",
        max_length=7,
    )
    history = fit(model, [callback], epochs=4)
    # Two evaluations (after epochs 2 and 4), each in two batches.
    assert model.num_caption_calls == 4
    assert model.last_options == {"max_length": 7}
    assert len(history.history["eval_CIDEr-D"]) == 2
    assert "val_CIDEr-D" not in history.history


def test_prints_scores_and_samples_beside_references(capsys):
    model = ScriptedCaptioner([GOOD])
    callback = callbacks.CaptionMetricsCallback(
        IMAGES, REFERENCES, num_samples=2, verbose=2
    )
    fit(model, [callback], epochs=1)
    out = capsys.readouterr().out
    assert "Epoch 1 caption metrics" in out
    assert "val_CIDEr-D" in out
    for index in range(2):
        assert repr(GOOD[index]) in out
        assert repr(REFERENCES[index][0]) in out
    assert repr(GOOD[2]) not in out


def test_silent_when_not_verbose(capsys):
    model = ScriptedCaptioner([GOOD])
    callback = callbacks.CaptionMetricsCallback(IMAGES, REFERENCES, verbose=0)
    fit(model, [callback], epochs=1)
    assert capsys.readouterr().out == ""


def test_rejects_model_without_caption_method():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    callback = callbacks.CaptionMetricsCallback(IMAGES, REFERENCES, verbose=0)
    with pytest.raises(TypeError, match="has none"):
        fit(model, [callback], epochs=1)


BAD_ARGUMENTS = [
    ({"every_n_epochs": 0}, ValueError, "every_n_epochs=0"),
    ({"batch_size": 1.5}, ValueError, "batch_size=1.5"),
    ({"num_samples": -1}, ValueError, "num_samples=-1"),
    ({"verbose": 3}, ValueError, "verbose=3"),
    ({"prefix": None}, TypeError, "prefix=None"),
    ({"images": IMAGES[:2]}, ValueError, "len\\(images\\)=2"),
    ({"references": REFERENCES[:2] + [[]]}, ValueError, "references\\[2\\]"),
    ({"references": REFERENCES[:2] + ["a"]}, TypeError, "references\\[2\\]"),
]


def test_rejects_bad_arguments_when_created():
    for arguments, error, message in BAD_ARGUMENTS:
        call = {"images": IMAGES, "references": REFERENCES}
        call.update(arguments)
        with pytest.raises(error, match=message):
            callbacks.CaptionMetricsCallback(**call)


def test_docstring_example_runs():
    module = importlib.import_module(
        "keras_captioning.callbacks.caption_metrics_callback"
    )
    results = doctest.testmod(
        module,
        extraglobs={
            "keras_captioning": keras_captioning,
            "np": np,
            "keras": keras,
        },
    )
    assert results.attempted > 0
    assert results.failed == 0
