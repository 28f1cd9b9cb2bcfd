"""A grid of images with the captions a model generated for them."""

import textwrap

from keras_captioning.visualization._figures import _check_columns
from keras_captioning.visualization._figures import _check_path
from keras_captioning.visualization._figures import _grid_shape
from keras_captioning.visualization._figures import _literal
from keras_captioning.visualization._figures import _new_figure
from keras_captioning.visualization._figures import _save
from keras_captioning.visualization._inputs import _check_strings
from keras_captioning.visualization._inputs import _display_image
from keras_captioning.visualization._inputs import _is_sequence
from keras_captioning.visualization._inputs import _numeric_array
from keras_captioning.visualization._inputs import _unit_scale

_PANEL_SIZE = 3.0
# Characters per caption line at the font size below for a 3 inch panel; long
# words are broken rather than allowed to spill into the next panel.
_WRAP_WIDTH = 38
_FONT_SIZE = 9
_LINE_HEIGHT = 0.18


def plot_captions(images, captions, references=None, path=None, columns=4):
    """Draws images in a grid with each generated caption wrapped below it.

    Captions are wrapped to the panel width, never cut: a long caption makes
    the figure taller. With `references`, the first reference caption of each
    image is printed under the generated one, prefixed with `ref:`.

    Needs matplotlib (`pip install "keras-captioning[visualization]"`). The
    figure is built without `pyplot`, so this works on headless machines.

    Args:
        images: array or tensor of shape `(num_images, height, width)` or
            `(num_images, height, width, channels)` with 1, 3 or 4 channels,
            or a list of single images (arrays, tensors or PIL images, which
            may differ in size). Integer images are read on the 0..255
            scale. Float images are read on the 0..1 scale, unless a value
            exceeds 1, in which case the 0..255 scale is used (decided once
            for a batch array, per image for a list). Negative values or
            values above 255 raise a `ValueError`; nothing is clipped.
        captions: list of strings, one generated caption per image.
        references: `None`, or a list with one entry per image: a reference
            caption string, or a non-empty list of reference strings of which
            the first is shown. Defaults to `None`.
        path: string or path-like, or `None`. When given, the figure is also
            saved there; the format follows the file extension, PNG when
            there is none. Defaults to `None`.
        columns: positive int, the largest number of panels per row.
            Defaults to `4`.

    Returns:
        A `matplotlib.figure.Figure` with one axes per image, in order.

    Example:
    >>> rng = np.random.default_rng(0)
    >>> images = rng.integers(0, 256, size=(2, 32, 48, 3), dtype="uint8")
    >>> figure = keras_captioning.visualization.plot_captions(
    ...     images,
    ...     ["a cat on a mat", "two dogs"],
    ...     references=[["a cat sits on a mat"], ["two dogs play"]],
    ... )
    >>> len(figure.axes)
    2
    """
    images = _split_images(images)
    captions = _check_strings(captions, "captions")
    if len(captions) != len(images):
        raise ValueError(
            "`captions` must have one caption per image. Received: "
            f"{len(images)} images and {len(captions)} captions."
        )
    if references is not None:
        references = _first_references(references, len(images))
    _check_columns(columns)
    _check_path(path)

    texts = []
    for index, caption in enumerate(captions):
        lines = textwrap.wrap(caption, _WRAP_WIDTH) or [""]
        if references is not None:
            lines += textwrap.wrap(f"ref: {references[index]}", _WRAP_WIDTH)
        texts.append("\n".join(lines))
    rows, columns = _grid_shape(len(images), columns)
    most_lines = max(text.count("\n") + 1 for text in texts)
    figure = _new_figure(
        (
            columns * _PANEL_SIZE,
            rows * (_PANEL_SIZE + most_lines * _LINE_HEIGHT + 0.1),
        )
    )
    for index, (image, text) in enumerate(zip(images, texts, strict=True)):
        axes = figure.add_subplot(rows, columns, index + 1)
        gray = "gray" if image.ndim == 2 else None
        axes.imshow(image, cmap=gray, vmin=0, vmax=1)
        # The x label, not free text, carries the caption: constrained layout
        # reserves room for labels, so captions never overlap the next row.
        axes.set_xlabel(_literal(text), fontsize=_FONT_SIZE, loc="left")
        axes.set_xticks([])
        axes.set_yticks([])
        for spine in axes.spines.values():
            spine.set_visible(False)
    _save(figure, path)
    return figure


def _split_images(images):
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("`images` is empty: there is nothing to plot.")
        return [
            _display_image(image, f"images[{index}]")
            for index, image in enumerate(images)
        ]
    batch = _numeric_array(images, "images")
    if batch.ndim not in (3, 4):
        raise ValueError(
            "`images` must be a batch of shape (num_images, height, width) "
            "or (num_images, height, width, channels), or a list of images. "
            f"Received: shape={tuple(batch.shape)}. For one image, pass "
            "images[None] or [image]."
        )
    if batch.shape[0] == 0:
        raise ValueError("`images` is empty: there is nothing to plot.")
    # One scale for the whole batch, so a dark image in a 0..255 batch is not
    # mistaken for a 0..1 image.
    batch = _unit_scale(batch, "images")
    return [
        _display_image(image, f"images[{index}]")
        for index, image in enumerate(batch)
    ]


def _first_references(references, count):
    if isinstance(references, str) or not _is_sequence(references):
        raise TypeError(
            "`references` must be None or a list with one entry per image. "
            f"Received: references={references!r}"
        )
    if len(references) != count:
        raise ValueError(
            "`references` must have one entry per image. Received: "
            f"{count} images and {len(references)} reference entries."
        )
    firsts = []
    for index, entry in enumerate(references):
        if isinstance(entry, str):
            firsts.append(entry)
            continue
        name = f"references[{index}]"
        entry = _check_strings(entry, name)
        if not entry:
            raise ValueError(
                f"`{name}` is an empty list: give at least one reference "
                "caption, or pass references=None."
            )
        firsts.append(entry[0])
    return firsts
