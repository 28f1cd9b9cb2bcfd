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
from keras_captioning.visualization._inputs import _to_numpy

# Panel width in inches; the height follows the image's aspect ratio.
_PANEL_WIDTH = 2.5
_TITLE_HEIGHT = 0.35


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
            `(num_words, image_steps)`, non-negative, where `image_steps` is
            `height * width` of the CNN feature map, flattened row by row (as
            `keras_captioning.layers.FeatureToSequence` does).
        feature_grid: tuple `(height, width)` of the CNN feature map, or
            `None` to infer a square grid from `image_steps` (which must
            then be a perfect square). Defaults to `None`.
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
        A `matplotlib.figure.Figure` with one axes per word, in word order.

    Example:
    >>> image = np.random.uniform(size=(64, 64, 3))
    >>> weights = np.random.dirichlet(np.ones(49), size=3)
    >>> figure = keras_captioning.visualization.plot_attention(
    ...     image, ["a", "red", "bus"], weights
    ... )
    >>> [axes.get_title() for axes in figure.axes]
    ['a', 'red', 'bus']
    """
    display = _display_image(image, "image")
    words = _check_strings(words, "words")
    weights = _to_numpy(attention_weights, "attention_weights")
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
    figure = _new_figure(
        (
            columns * _PANEL_WIDTH,
            rows * panel_height + (_TITLE_HEIGHT if title else 0),
        )
    )
    gray = "gray" if display.ndim == 2 else None
    for index, (word, row) in enumerate(zip(words, weights, strict=True)):
        axes = figure.add_subplot(rows, columns, index + 1)
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
    if title:
        figure.suptitle(_literal(title))
    _save(figure, path)
    return figure


def _resolve_grid(feature_grid, image_steps):
    if feature_grid is None:
        side = math.isqrt(image_steps)
        if side * side != image_steps:
            raise ValueError(
                "`attention_weights` has "
                f"{image_steps} image steps, which is not a perfect square, "
                "so the feature grid cannot be inferred. Pass "
                "feature_grid=(height, width) with height * width == "
                f"{image_steps}."
            )
        return side, side
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
    if grid_height * grid_width != image_steps:
        raise ValueError(
            f"`feature_grid` {tuple(feature_grid)} holds "
            f"{grid_height * grid_width} positions but `attention_weights` "
            f"has {image_steps} image steps per word. They must be equal."
        )
    return grid_height, grid_width


def _upsample(grid_map, size):
    """Bilinear resize of a 2-D float map to `size = (height, width)`."""
    height, width = size
    resized = Image.fromarray(grid_map.astype(np.float32)).resize(
        (width, height), Image.Resampling.BILINEAR
    )
    return np.asarray(resized, dtype=np.float32)
