import doctest
import re

import hypothesis
import hypothesis.strategies as st
import keras
import numpy as np
import pytest
from PIL import Image

import keras_captioning
from keras_captioning.visualization import plot_captions

CAPTIONS = ["a cat on a mat", "two dogs play in the snow", "a red bus"]


def _images(count, height=24, width=32):
    return np.random.randint(0, 256, (count, height, width, 3), dtype="uint8")


def _no_space(text):
    return re.sub(r"\s", "", text)


def test_saves_png_of_the_figure_size_with_one_panel_per_image(tmp_path):
    path = tmp_path / "captions.png"
    figure = plot_captions(_images(3), CAPTIONS, path=path)
    assert path.exists()
    width, height = (figure.get_size_inches() * figure.dpi).round()
    with Image.open(path) as saved:
        assert saved.format == "PNG"
        assert saved.size == (int(width), int(height))
    assert len(figure.axes) == 3
    assert [axes.get_xlabel() for axes in figure.axes] == CAPTIONS


def test_first_reference_is_shown_under_the_caption():
    references = [["a cat sits", "ignored"], "two dogs", ["a bus", "no"]]
    figure = plot_captions(_images(3), CAPTIONS, references=references)
    labels = [axes.get_xlabel() for axes in figure.axes]
    assert labels[0] == "a cat on a mat\nref: a cat sits"
    assert labels[1].endswith("\nref: two dogs")
    assert "ignored" not in labels[0]


def test_accepts_a_list_of_images_of_different_sizes_tensors_and_pil():
    images = [
        np.random.uniform(size=(20, 30, 3)),
        keras.ops.convert_to_tensor(np.random.uniform(size=(40, 10))),
        np.random.randint(0, 256, (16, 16, 1)),
        Image.fromarray(np.zeros((12, 18, 3), "uint8")),
    ]
    figure = plot_captions(images, CAPTIONS + ["a pil image"])
    shapes = [axes.images[0].get_array().shape for axes in figure.axes]
    assert shapes == [(20, 30, 3), (40, 10), (16, 16), (12, 18, 3)]


def test_dollar_signs_are_drawn_as_written_not_as_math(tmp_path):
    # Unescaped, "$\\frac{ ... $" is invalid mathtext and savefig would fail.
    caption = "paid $\\frac{ and $5"
    figure = plot_captions(_images(1), [caption], path=tmp_path / "cost.png")
    assert figure.axes[0].get_xlabel() == caption.replace("$", "\\$")


def test_batch_scale_is_decided_once_for_the_whole_batch():
    # In a 0..255 batch, an image whose pixels are all <= 1 is nearly black,
    # not a bright 0..1 image.
    batch = np.stack([np.full((8, 8, 3), 1.0), np.full((8, 8, 3), 255.0)])
    figure = plot_captions(batch, ["dark", "bright"])
    dark = np.asarray(figure.axes[0].images[0].get_array())
    np.testing.assert_allclose(dark, 1 / 255, atol=1e-6)


@hypothesis.settings(deadline=None)
@hypothesis.given(count=st.integers(1, 9), columns=st.integers(1, 6))
def test_grid_has_one_axes_per_image_and_no_empty_columns(count, columns):
    figure = plot_captions(
        _images(count, 4, 4),
        [f"caption {i}" for i in range(count)],
        columns=columns,
    )
    assert len(figure.axes) == count
    rows, used_columns = figure.axes[0].get_subplotspec().get_geometry()[:2]
    assert used_columns == min(columns, count)
    assert (rows - 1) * used_columns < count <= rows * used_columns


@hypothesis.settings(deadline=None)
@hypothesis.given(
    caption=st.text(
        st.characters(codec="ascii", categories=["L", "N", "P", "Zs"]),
        max_size=300,
    )
)
def test_long_captions_are_wrapped_never_cut(caption):
    figure = plot_captions(_images(1, 4, 4), [caption])
    label = figure.axes[0].get_xlabel()
    assert _no_space(label) == _no_space(caption)
    assert all(len(line) <= 38 for line in label.split("\n"))


def test_docstring_example_runs():
    runner = doctest.DocTestRunner()
    globs = {"np": np, "keras_captioning": keras_captioning}
    for test in doctest.DocTestFinder().find(plot_captions, globs=globs):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.attempted > 0
    assert results.failed == 0


# (arguments replaced, error expected, message pattern): checked as subtests
# of one test, so the per-test session reset is paid once.
BAD_INPUTS = [
    ({"captions": CAPTIONS[:2]}, ValueError, "3 images and 2 captions"),
    ({"captions": "a cat"}, TypeError, "`captions` must be a list"),
    ({"captions": [1, 2, 3]}, TypeError, r"captions\[0\]=1"),
    ({"images": []}, ValueError, "`images` is empty"),
    ({"images": np.zeros((0, 8, 8, 3))}, ValueError, "`images` is empty"),
    ({"images": np.zeros((8, 8))}, ValueError, r"`images` must be a batch"),
    (
        {"images": np.zeros((3, 8, 8, 5))},
        ValueError,
        r"`images\[0\]` must have shape",
    ),
    (
        {"images": [np.zeros((8, 8)), np.zeros((8, 8)), np.zeros((8,))]},
        ValueError,
        r"`images\[2\]` must have shape",
    ),
    ({"images": np.full((3, 8, 8), -0.5)}, ValueError, r"`images`.*0\.\.1"),
    ({"references": ["a", "b"]}, ValueError, "2 reference entries"),
    ({"references": "a"}, TypeError, "`references` must be None or a list"),
    (
        {"references": ["a", [], "c"]},
        ValueError,
        r"`references\[1\]` is an empty list",
    ),
    ({"references": ["a", [3], "c"]}, TypeError, r"references\[1\]\[0\]=3"),
    ({"columns": 2.5}, ValueError, r"`columns`.*columns=2\.5"),
]


def test_bad_input_raises_a_clear_error(subtests):
    for kwargs, error, match in BAD_INPUTS:
        with subtests.test(match):
            arguments = {"images": _images(3), "captions": CAPTIONS, **kwargs}
            with pytest.raises(error, match=match):
                plot_captions(**arguments)
