"""Figure creation and saving shared by the plotting functions.

matplotlib is an optional extra, so it is imported here, on first use, and
never at module import time. Figures are built with the object-oriented
`matplotlib.figure.Figure` API rather than `pyplot`: no global figure registry,
no GUI backend, so plotting works on a headless training machine and a
returned figure is never kept alive by pyplot behind the caller's back.
"""

import math
import os

_INSTALL_HINT = 'pip install "keras-captioning[visualization]"'


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "keras_captioning.visualization needs matplotlib, which is not "
            f"installed. Install it with: {_INSTALL_HINT}"
        ) from error
    return Figure


_DPI = 100


def _new_figure(figsize):
    figure_class = _figure_class()
    # Whole pixels: otherwise savefig truncates and the PNG is a pixel short
    # of `figsize * dpi`.
    figsize = tuple(round(inches * _DPI) / _DPI for inches in figsize)
    # Constrained layout keeps titles and wrapped captions inside the canvas,
    # so a saved PNG is exactly `figsize * dpi` pixels with nothing clipped.
    return figure_class(figsize=figsize, dpi=_DPI, layout="constrained")


def _literal(text):
    """Text drawn as written: matplotlib would read `$...$` as math."""
    return text.replace("$", r"\$")


def _check_columns(columns):
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(
            "`columns` must be a positive integer. "
            f"Received: columns={columns!r}"
        )


def _grid_shape(count, columns):
    """Rows and columns for `count` panels, never wider than needed."""
    columns = min(columns, count)
    return math.ceil(count / columns), columns


def _check_path(path):
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            "`path` must be a string, a path-like object or None. "
            f"Received: path={path!r} of type {type(path).__name__}"
        )


def _save(figure, path):
    if path is not None:
        figure.savefig(path)
