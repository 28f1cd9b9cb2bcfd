"""Where the decoder looked for each word it generated."""

import math

import numpy as np
from PIL import Image

from keras_captioning.visualization._figures import _check_columns
from keras_captioning.visualization._figures import _check_path
from keras_captioning.visualization._figures import _grid_shape
from keras_captioning.visualization._figures import _literal
from keras_captioning.visualization._figures import _new_figure
from keras_captioning.visualization._figures import _save
from keras_captioning.visualization._inputs import _check_strings
from keras_captioning.visualization._inputs import _display_image
from keras_captioning.visualization._inputs import _numeric_array

# Panel width in inches; the height follows the image's aspect ratio.
_PANEL_WIDTH = 2.5
_TITLE_HEIGHT = 0.35
# Height in inches of the sentinel weights' axes under the panels.
_SENTINEL_HEIGHT = 1.8


def plot_attention(
    image,
    words,
    attention_weights,
    feature_grid=None,
    path=None,
    columns=5,
    title=None,
    alpha=0.6,
    cmap="jet",
):
    """Draws the image once per generated word with its attention map over it.

    Row `i` of `attention_weights` is the distribution over CNN feature-map
    positions that the decoder used when it produced `words[i]`. Each row is
    reshaped to the feature grid, upsampled bilinearly to the image size and
    drawn over the image with transparency, in one panel titled with the word.
    Each map is scaled to its own maximum, so a sharp and a diffuse map are
    both visible: compare panels by where they are bright, not by colour.

    Scores with one column more than the feature grid has positions come
    from a decoder with a visual sentinel (`conditioning=
    "adaptive_attention"`): the last column is the sentinel weight, the
    share of the word that comes from the language model rather than the
    image. The maps then use the other columns, and one more axes under the
    panels draws the sentinel weight of every word as a bar on a 0 to 1
    scale: low bars are the words for which the model looked.

    Needs matplotlib (`pip install "keras-captioning[visualization]"`). The
    figure is built without `pyplot`, so this works on headless machines.

    Args:
        image: array, tensor or PIL image of shape `(height, width)`,
            `(height, width, 1)`, `(height, width, 3)` or
            `(height, width, 4)`: the image as it was before model-specific
            preprocessing. Integer images are read on the 0..255 scale. Float
            images are read on the 0..1 scale, unless a value exceeds 1, in
            which case the 0..255 scale is used. Negative values or values
            above 255 raise a `ValueError`; nothing is clipped.
        words: list of strings, the generated words, one per attention row.
            Usually the caption split on spaces, without the end token if the
            decoder produced no attention for it.
        attention_weights: array or tensor of shape
            `(num_words, image_steps)` or `(num_words, image_steps + 1)`,
            non-negative, where `image_steps` is `height * width` of the CNN
            feature map, flattened row by row (as
            `keras_captioning.layers.FeatureToSequence` does), and the
            extra last column is a sentinel weight.
        feature_grid: tuple `(height, width)` of the CNN feature map, or
            `None` to infer a square grid from the number of columns (a
            perfect square, or one more than a perfect square with a
            sentinel column). Defaults to `None`.
        path: string or path-like, or `None`. When given, the figure is also
            saved there; the format follows the file extension, PNG when
            there is none. Defaults to `None`.
        columns: positive int, the largest number of panels per row.
            Defaults to `5`.
        title: string or `None`, a title above all panels, for instance the
            whole caption. Defaults to `None`.
        alpha: float in `[0, 1]`, the opacity of the attention overlay.
            Defaults to `0.6`.
        cmap: string, a matplotlib colormap name for the attention overlay.
            Defaults to `"jet"`.

    Returns:
        A `matplotlib.figure.Figure` with one axes per word, in word order,
        and, with a sentinel column, a last axes with the sentinel weights.

    Example:
    >>> rng = np.random.default_rng(0)
    >>> image = rng.uniform(size=(64, 64, 3))
    >>> weights = rng.dirichlet(np.ones(49), size=3)
    >>> figure = keras_captioning.visualization.plot_attention(
    ...     image, ["a", "red", "bus"], weights
    ... )
    >>> [axes.get_title() for axes in figure.axes]
    ['a', 'red', 'bus']

    With a sentinel column (adaptive attention), one more axes:

    >>> weights = rng.dirichlet(np.ones(50), size=3)
    >>> figure = keras_captioning.visualization.plot_attention(
    ...     image, ["a", "red", "bus"], weights
    ... )
    >>> len(figure.axes)
    4
    """
    display = _display_image(image, "image")
    words = _check_strings(words, "words")
    weights = _numeric_array(attention_weights, "attention_weights")
    if weights.ndim != 2:
        raise ValueError(
            "`attention_weights` must have rank 2, shape "
            "(num_words, image_steps). Received: "
            f"shape={tuple(weights.shape)}. For a batch, pass one example, "
            "e.g. attention_weights[0]."
        )
    if not words:
        raise ValueError("`words` is empty: there is nothing to plot.")
    if len(words) != weights.shape[0]:
        raise ValueError(
            "`words` and `attention_weights` must have one entry per word. "
            f"Received: {len(words)} words and attention_weights of shape "
            f"{tuple(weights.shape)}. If the decoder returns attention for "
            "padded steps, slice it: attention_weights[:len(words)]."
        )
    if weights.shape[1] == 0:
        raise ValueError(
            "`attention_weights` has no image steps. Received: "
            f"shape={tuple(weights.shape)}"
        )
    weights = weights.astype(np.float32)
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(
            "`attention_weights` must be finite and non-negative. Received "
            f"values from {np.min(weights):g} to {np.max(weights):g}."
        )
    grid = _resolve_grid(feature_grid, weights.shape[1])
    sentinel = None
    if weights.shape[1] == grid[0] * grid[1] + 1:
        weights, sentinel = weights[:, :-1], weights[:, -1]
    _check_columns(columns)
    _check_path(path)
    if title is not None and not isinstance(title, str):
        raise TypeError(
            f"`title` must be a string or None. Received: title={title!r}"
        )
    if isinstance(alpha, bool) or not (
        isinstance(alpha, (int, float)) and 0 <= alpha <= 1
    ):
        raise ValueError(
            f"`alpha` must be a number in [0, 1]. Received: alpha={alpha!r}"
        )

    height, width = display.shape[:2]
    rows, columns = _grid_shape(len(words), columns)
    panel_height = _PANEL_WIDTH * height / width + _TITLE_HEIGHT
    heights = [panel_height] * rows
    if sentinel is not None:
        heights.append(_SENTINEL_HEIGHT)
    figure = _new_figure(
        (
            columns * _PANEL_WIDTH,
            sum(heights) + (_TITLE_HEIGHT if title else 0),
        )
    )
    layout = figure.add_gridspec(len(heights), columns, height_ratios=heights)
    gray = "gray" if display.ndim == 2 else None
    for index, (word, row) in enumerate(zip(words, weights, strict=True)):
        axes = figure.add_subplot(layout[divmod(index, columns)])
        axes.imshow(display, cmap=gray, vmin=0, vmax=1)
        heatmap = _upsample(row.reshape(grid), (height, width))
        peak = float(heatmap.max())
        axes.imshow(
            heatmap,
            cmap=cmap,
            alpha=alpha,
            vmin=0,
            vmax=peak if peak > 0 else 1,
        )
        axes.set_title(_literal(word))
        axes.set_axis_off()
    if sentinel is not None:
        _plot_sentinel(figure.add_subplot(layout[rows, :]), words, sentinel)
    if title:
        figure.suptitle(_literal(title))
    _save(figure, path)
    return figure


def _plot_sentinel(axes, words, sentinel):
    """One bar per word: the weight of the visual sentinel, 0 to 1."""
    positions = np.arange(len(words))
    axes.bar(positions, sentinel, color="tab:gray")
    axes.set_xticks(positions, [_literal(word) for word in words])
    axes.set_xlim(-0.5, len(words) - 0.5)
    axes.set_ylim(0, 1)
    axes.set_ylabel("sentinel")
    axes.set_title("Sentinel weight (high: the word does not need the image)")


def _resolve_grid(feature_grid, image_steps):
    """The feature grid; `image_steps` may include a sentinel column."""
    if feature_grid is None:
        for positions in (image_steps, image_steps - 1):
            side = math.isqrt(max(positions, 0))
            if positions > 0 and side * side == positions:
                return side, side
        raise ValueError(
            "`attention_weights` has "
            f"{image_steps} image steps, which is not a perfect square (nor "
            "a perfect square plus a sentinel column), so the feature grid "
            "cannot be inferred. Pass feature_grid=(height, width) with "
            f"height * width == {image_steps}."
        )
    if (
        not isinstance(feature_grid, (tuple, list))
        or len(feature_grid) != 2
        or not all(
            isinstance(size, (int, np.integer))
            and not isinstance(size, bool)
            and size > 0
            for size in feature_grid
        )
    ):
        raise ValueError(
            "`feature_grid` must be a tuple of two positive integers "
            f"(height, width) or None. Received: feature_grid={feature_grid!r}"
        )
    grid_height, grid_width = (int(size) for size in feature_grid)
    if image_steps - grid_height * grid_width not in (0, 1):
        raise ValueError(
            f"`feature_grid` {tuple(feature_grid)} holds "
            f"{grid_height * grid_width} positions but `attention_weights` "
            f"has {image_steps} image steps per word. They must be equal, "
            "or the weights have one more column: the sentinel weight."
        )
    return grid_height, grid_width


def _upsample(grid_map, size):
    """Bilinear resize of a 2-D float map to `size = (height, width)`."""
    height, width = size
    resized = Image.fromarray(grid_map.astype(np.float32)).resize(
        (width, height), Image.Resampling.BILINEAR
    )
    return np.asarray(resized, dtype=np.float32)
