import doctest

import hypothesis
import hypothesis.strategies as st
import keras
import numpy as np
import pytest
from PIL import Image

import keras_captioning
from keras_captioning.visualization import plot_attention
from keras_captioning.visualization.plot_attention import _upsample

WORDS = ["a", "dog", "runs"]


def _uniform_weights(num_words, image_steps):
    return np.full((num_words, image_steps), 1.0 / image_steps, "float32")


def _hot_region(figure, panel):
    """Pixels where the overlay of one panel reaches its maximum."""
    heat = np.asarray(figure.axes[panel].images[1].get_array())
    return np.argwhere(heat >= heat.max() - 1e-6)


def test_saves_png_of_the_figure_size_with_one_titled_panel_per_word(tmp_path):
    path = tmp_path / "attention.png"
    image = np.random.randint(0, 256, size=(60, 80, 3), dtype="uint8")
    figure = plot_attention(
        image, WORDS, _uniform_weights(3, 49), path=path, title="a dog runs"
    )
    assert path.exists()
    width, height = (figure.get_size_inches() * figure.dpi).round()
    with Image.open(path) as saved:
        assert saved.format == "PNG"
        assert saved.size == (int(width), int(height))
    assert len(figure.axes) == len(WORDS)
    assert [axes.get_title() for axes in figure.axes] == WORDS
    assert figure.get_suptitle() == "a dog runs"


def test_dollar_signs_in_words_are_drawn_as_written(tmp_path):
    # Unescaped, "$\\frac{$" is invalid mathtext and savefig would fail.
    figure = plot_attention(
        np.zeros((8, 8)),
        ["$\\frac{$"],
        _uniform_weights(1, 4),
        title="$\\frac{$",
        path=tmp_path / "dollars.png",
    )
    assert figure.axes[0].get_title() == "\\$\\frac{\\$"


def test_without_path_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plot_attention(np.zeros((8, 8)), ["a"], _uniform_weights(1, 4))
    assert list(tmp_path.iterdir()) == []


def test_accepts_backend_tensors():
    image = keras.ops.convert_to_tensor(np.random.uniform(size=(32, 32, 3)))
    weights = np.zeros((2, 16), "float32")
    weights[0, 0] = weights[1, 15] = 1.0
    figure = plot_attention(
        image, ["left", "right"], keras.ops.convert_to_tensor(weights)
    )
    assert len(figure.axes) == 2
    # Cell 0 is the top-left corner of a 4x4 grid, cell 15 the bottom-right.
    assert np.all(_hot_region(figure, 0) < 8)
    assert np.all(_hot_region(figure, 1) >= 24)


@hypothesis.settings(deadline=None)
@hypothesis.given(
    grid_height=st.integers(1, 6),
    grid_width=st.integers(1, 6),
    scale_height=st.integers(1, 8),
    scale_width=st.integers(1, 8),
    data=st.data(),
)
def test_attention_peak_lands_over_its_feature_cell(
    grid_height, grid_width, scale_height, scale_width, data
):
    row = data.draw(st.integers(0, grid_height - 1), label="row")
    column = data.draw(st.integers(0, grid_width - 1), label="column")
    height, width = grid_height * scale_height, grid_width * scale_width
    weights = np.zeros((1, grid_height * grid_width), "float32")
    weights[0, row * grid_width + column] = 1.0
    grid = None if grid_height == grid_width else (grid_height, grid_width)
    figure = plot_attention(np.ones((height, width, 3)), ["w"], weights, grid)
    overlay = figure.axes[0].images[1].get_array()
    assert overlay.shape == (height, width)
    hot = _hot_region(figure, 0)
    assert np.all(hot[:, 0] // scale_height == row)
    assert np.all(hot[:, 1] // scale_width == column)


@hypothesis.settings(deadline=None)
@hypothesis.given(
    grid=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    size=st.tuples(st.integers(1, 50), st.integers(1, 50)),
    seed=st.integers(0, 2**16),
)
def test_upsampling_is_image_sized_and_stays_within_the_map_range(
    grid, size, seed
):
    grid_map = np.random.default_rng(seed).uniform(size=grid)
    upsampled = _upsample(grid_map, size)
    assert upsampled.shape == size
    assert upsampled.min() >= grid_map.min() - 1e-5
    assert upsampled.max() <= grid_map.max() + 1e-5
    constant = _upsample(np.full(grid, 0.25), size)
    np.testing.assert_allclose(constant, 0.25, atol=1e-6)


def test_images_on_either_scale_display_alike(subtests):
    images = {
        "uint8": np.full((16, 16, 3), 200, "uint8"),
        "float on 0..255": np.full((16, 16, 3), 200.0, "float32"),
        "float on 0..1": np.full((16, 16, 3), 200 / 255, "float64"),
        "int, one channel": np.full((16, 16, 1), 200, "int64"),
    }
    for name, image in images.items():
        with subtests.test(name):
            figure = plot_attention(image, ["a"], _uniform_weights(1, 4))
            shown = np.asarray(figure.axes[0].images[0].get_array())
            np.testing.assert_allclose(shown, 200 / 255, atol=1e-6)


def test_columns_limit_the_panels_per_row():
    figure = plot_attention(
        np.zeros((10, 10, 3)),
        ["one", "two", "three", "four", "five"],
        _uniform_weights(5, 9),
        columns=2,
    )
    geometry = figure.axes[0].get_subplotspec().get_geometry()
    assert geometry[:2] == (3, 2)


def _sentinel_weights(sentinel, image_steps):
    """Rows whose image weights share `1 - sentinel` and end with it."""
    sentinel = np.asarray(sentinel, "float32")[:, None]
    image = np.full((len(sentinel), image_steps), 1.0 / image_steps)
    return np.concatenate([image * (1 - sentinel), sentinel], -1)


def test_a_sentinel_column_adds_one_axes_with_a_bar_per_word(tmp_path):
    path = tmp_path / "adaptive.png"
    sentinel = [0.1, 0.9, 0.4]
    figure = plot_attention(
        np.zeros((24, 24, 3)), WORDS, _sentinel_weights(sentinel, 9), path=path
    )
    assert len(figure.axes) == len(WORDS) + 1
    assert [axes.get_title() for axes in figure.axes[:-1]] == WORDS
    strip = figure.axes[-1]
    heights = [bar.get_height() for bar in strip.patches]
    np.testing.assert_allclose(heights, sentinel, atol=1e-6)
    assert [label.get_text() for label in strip.get_xticklabels()] == WORDS
    assert strip.get_ylim() == (0, 1)
    width, height = (figure.get_size_inches() * figure.dpi).round()
    with Image.open(path) as saved:
        assert saved.size == (int(width), int(height))
    # The strip adds height to the figure, not width.
    plain = plot_attention(np.zeros((24, 24, 3)), WORDS, _uniform_weights(3, 9))
    assert figure.get_size_inches()[0] == plain.get_size_inches()[0]
    assert figure.get_size_inches()[1] > plain.get_size_inches()[1]


def test_with_a_sentinel_the_maps_use_the_image_columns_only():
    weights = np.zeros((1, 17), "float32")
    weights[0, 15], weights[0, 16] = 0.2, 0.8  # bottom-right cell, sentinel
    figure = plot_attention(
        np.zeros((32, 32)), ["of"], weights, feature_grid=(4, 4)
    )
    assert len(figure.axes) == 2
    assert np.all(_hot_region(figure, 0) >= 24)


def test_the_sentinel_strip_sits_below_every_panel():
    figure = plot_attention(
        np.zeros((10, 10, 3)),
        ["one", "two", "three", "four", "five"],
        _sentinel_weights([0.5] * 5, 4),
        columns=2,
    )
    panels, strip = figure.axes[:-1], figure.axes[-1]
    assert panels[0].get_subplotspec().get_geometry()[:2] == (4, 2)
    assert strip.get_subplotspec().rowspan == range(3, 4)
    assert strip.get_subplotspec().colspan == range(0, 2)


def test_docstring_example_runs():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    globs = {"np": np, "keras_captioning": keras_captioning}
    for test in finder.find(plot_attention, globs=globs):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.attempted > 0
    assert results.failed == 0


# (arguments replaced, error expected, message pattern): checked as subtests
# of one test, so the per-test session reset is paid once.
BAD_INPUTS = [
    (
        {"words": ["a", "dog"]},
        ValueError,
        r"`words` and `attention_weights`.*2 words.*\(3, 49\)",
    ),
    ({"words": []}, ValueError, "`words` is empty"),
    ({"words": "a dog runs"}, TypeError, r"`words`.*caption\.split"),
    ({"words": ["a", 1, "runs"]}, TypeError, r"words\[1\]=1"),
    (
        {"attention_weights": np.zeros((1, 3, 49))},
        ValueError,
        r"`attention_weights` must have rank 2.*\(1, 3, 49\)",
    ),
    (
        {"attention_weights": np.zeros((3, 0))},
        ValueError,
        "`attention_weights` has no image steps",
    ),
    (
        {"attention_weights": np.full((3, 49), -0.1)},
        ValueError,
        "`attention_weights` must be finite and non-negative",
    ),
    (
        {"attention_weights": np.full((3, 49), np.nan)},
        ValueError,
        "`attention_weights` must be finite",
    ),
    (
        {"attention_weights": np.full((3, 12), 1 / 12)},
        ValueError,
        r"12 image steps, which is not a perfect square.*feature_grid",
    ),
    (
        {"feature_grid": (7, 6)},
        ValueError,
        r"42 positions.*49 image steps.*sentinel",
    ),
    (
        {"attention_weights": np.full((3, 12), 1 / 12), "feature_grid": 12},
        ValueError,
        r"`feature_grid` must be a tuple.*feature_grid=12",
    ),
    (
        {"feature_grid": (5, 10)},
        ValueError,
        r"`feature_grid` \(5, 10\) holds 50 positions.*49 image steps",
    ),
    (
        {"image": np.zeros((2, 32, 32, 3))},
        ValueError,
        r"`image`.*images\[0\]",
    ),
    (
        {"image": np.zeros((32, 32, 2))},
        ValueError,
        r"`image` must have shape",
    ),
    ({"image": np.zeros((0, 32, 3))}, ValueError, "`image` is empty"),
    ({"image": np.full((8, 8), -1.0)}, ValueError, r"`image`.*0\.\.255"),
    ({"image": np.full((8, 8), 300)}, ValueError, r"from 300 to 300"),
    ({"image": np.zeros((8, 8), bool)}, TypeError, "`image` must hold"),
    ({"columns": 0}, ValueError, r"`columns`.*columns=0"),
    ({"alpha": 1.5}, ValueError, r"`alpha`.*alpha=1\.5"),
    ({"title": 3}, TypeError, r"`title`.*title=3"),
    ({"path": 3}, TypeError, r"`path`.*path=3"),
]


def test_bad_input_raises_a_clear_error(subtests):
    for kwargs, error, match in BAD_INPUTS:
        with subtests.test(match):
            arguments = {
                "image": np.zeros((32, 32, 3)),
                "words": WORDS,
                "attention_weights": _uniform_weights(3, 49),
                **kwargs,
            }
            with pytest.raises(error, match=match):
                plot_attention(**arguments)
