import doctest

import hypothesis
import hypothesis.strategies as st
import keras
import numpy as np
import pytest
from PIL import Image

import keras_captioning
from keras_captioning.visualization import plot_history

HISTORY = {
    "loss": [2.0, 1.5, 1.2, 1.0],
    "accuracy": [0.2, 0.3, 0.5, 0.6],
    "val_loss": [2.2, 1.8, 1.6, 1.5],
    "val_accuracy": [0.1, 0.2, 0.4, 0.4],
}


def _curves(axes):
    return {
        line.get_label(): (list(line.get_xdata()), list(line.get_ydata()))
        for line in axes.lines
    }


def test_saves_png_with_one_panel_per_metric_and_both_curves(tmp_path):
    path = tmp_path / "history.png"
    figure = plot_history(HISTORY, path=path)
    assert path.exists()
    width, height = (figure.get_size_inches() * figure.dpi).round()
    with Image.open(path) as saved:
        assert saved.format == "PNG"
        assert saved.size == (int(width), int(height))
    assert [axes.get_title() for axes in figure.axes] == ["loss", "accuracy"]
    assert _curves(figure.axes[0]) == {
        "loss": ([1, 2, 3, 4], HISTORY["loss"]),
        "val_loss": ([1, 2, 3, 4], HISTORY["val_loss"]),
    }


def test_history_from_fit_with_validation_every_second_epoch():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, y = np.random.uniform(size=(8, 3)), np.random.uniform(size=(8, 1))
    history = model.fit(
        x, y, epochs=5, validation_data=(x, y), validation_freq=2, verbose=0
    )
    figure = plot_history(history, validation_freq=2)
    assert [axes.get_title() for axes in figure.axes] == ["loss", "mae"]
    curves = _curves(figure.axes[1])
    assert curves["mae"][0] == [1, 2, 3, 4, 5]
    assert curves["val_mae"] == ([2, 4], history.history["val_mae"])


def test_history_object_numbers_a_resumed_run_from_where_it_resumed():
    history = keras.callbacks.History()
    history.history = {"loss": [0.5, 0.4]}
    history.epoch = [3, 4]
    figure = plot_history(history)
    assert _curves(figure.axes[0])["loss"][0] == [4, 5]


def test_metrics_selects_panels_in_the_given_order():
    figure = plot_history(HISTORY, metrics=["accuracy", "loss"])
    assert [axes.get_title() for axes in figure.axes] == ["accuracy", "loss"]
    figure = plot_history(HISTORY, metrics="accuracy")
    assert [axes.get_title() for axes in figure.axes] == ["accuracy"]


def test_validation_only_metric_gets_its_own_panel():
    history = {"loss": [1.0, 0.5, 0.2], "val_bleu": [0.1, 0.2, 0.3]}
    figure = plot_history(history)
    assert [axes.get_title() for axes in figure.axes] == ["loss", "bleu"]
    assert _curves(figure.axes[1]) == {"val_bleu": ([1, 2, 3], [0.1, 0.2, 0.3])}


@hypothesis.settings(deadline=None)
@hypothesis.given(
    epochs=st.integers(1, 20), frequency=st.integers(1, 6), data=st.data()
)
def test_validation_points_sit_at_the_validated_epochs(epochs, frequency, data):
    validated = epochs // frequency
    hypothesis.assume(validated > 0)
    losses = data.draw(
        st.lists(st.floats(0, 10), min_size=epochs, max_size=epochs)
    )
    history = {"loss": losses, "val_loss": list(range(validated))}
    figure = plot_history(history, validation_freq=frequency)
    curves = _curves(figure.axes[0])
    assert curves["loss"] == (list(range(1, epochs + 1)), losses)
    assert curves["val_loss"][0] == [
        frequency * (step + 1) for step in range(validated)
    ]


def test_validation_freq_as_a_list_of_epochs():
    history = {"loss": [4, 3, 2, 1], "val_loss": [3.5, 1.5]}
    figure = plot_history(history, validation_freq=[1, 4])
    assert _curves(figure.axes[0])["val_loss"][0] == [1, 4]


def test_docstring_example_runs():
    runner = doctest.DocTestRunner()
    globs = {"np": np, "keras_captioning": keras_captioning}
    for test in doctest.DocTestFinder().find(plot_history, globs=globs):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.attempted > 0
    assert results.failed == 0


# (history, other arguments, error expected, message pattern): checked as
# subtests of one test, so the per-test session reset is paid once.
BAD_INPUTS = [
    ({}, {}, ValueError, "`history` is empty"),
    (keras.callbacks.History(), {}, ValueError, "`history` is empty"),
    ([1.0, 0.5], {}, TypeError, r"`history` must be a keras.callbacks"),
    ({1: [1.0]}, {}, TypeError, r"`history` keys.*key 1"),
    ({"loss": []}, {}, ValueError, r"`history\['loss'\]` has no values"),
    (
        {"loss": [[1.0]]},
        {},
        ValueError,
        r"`history\['loss'\]` must be a flat list",
    ),
    ({"loss": ["a"]}, {}, TypeError, r"`history\['loss'\]` must hold"),
    (
        {"loss": [1.0, 2.0], "acc": [1.0]},
        {},
        ValueError,
        r"same number each.*'loss': 2, 'acc': 1",
    ),
    (
        {"loss": [1.0, 2.0], "val_loss": [1.0]},
        {},
        ValueError,
        r"`history\['val_loss'\]` has 1 values.*validation_freq",
    ),
    (HISTORY, {"metrics": ["bleu"]}, ValueError, r"'bleu'.*Available"),
    (HISTORY, {"metrics": ["val_loss"]}, ValueError, r"without the prefix"),
    (HISTORY, {"metrics": []}, ValueError, "`metrics` is an empty list"),
    (HISTORY, {"metrics": ["loss", "loss"]}, ValueError, "twice"),
    (HISTORY, {"metrics": [1]}, TypeError, r"`metrics` must be None"),
    (HISTORY, {"validation_freq": 0}, ValueError, "validation_freq=0"),
    (
        HISTORY,
        {"validation_freq": []},
        ValueError,
        "validation_freq=\\[\\]",
    ),
    (HISTORY, {"path": 1}, TypeError, "`path`"),
]


def test_bad_input_raises_a_clear_error(subtests):
    for history, kwargs, error, match in BAD_INPUTS:
        with subtests.test(match):
            with pytest.raises(error, match=match):
                plot_history(history, **kwargs)
