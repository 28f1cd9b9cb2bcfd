"""Validation and conversion of the arrays and strings the plots receive."""

import numpy as np

from keras_captioning import _validation


def _numeric_array(value, name):
    """A NumPy array of numbers from an array, a tensor or nested lists."""
    array = _validation.to_numpy(
        value, name, "an array, a tensor or a rectangular nested list"
    )
    if array.dtype.name == "bfloat16" or array.dtype.name.startswith("float8"):
        # Mixed-precision outputs arrive in ml_dtypes types that NumPy does
        # not class as floating point; float32 holds them exactly.
        array = array.astype(np.float32)
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer)
        or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(
            f"`{name}` must hold integer or floating point numbers. "
            f"Received: dtype={array.dtype}"
        )
    return array


def _display_image(image, name):
    """An image as float32 in [0, 1], of shape `(h, w)`, `(h, w, 3)` or
    `(h, w, 4)`, ready for `imshow`."""
    array = _numeric_array(image, name)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4))):
        raise ValueError(
            f"`{name}` must have shape (height, width), (height, width, 1), "
            f"(height, width, 3) or (height, width, 4). Received: "
            f"shape={tuple(array.shape)}. For a batch, pass one image, "
            f"e.g. images[0]."
        )
    return _unit_scale(array, name)


def _unit_scale(array, name):
    """Float32 pixel values in [0, 1] from the 0..1 or the 0..255 scale."""
    if array.size == 0:
        raise ValueError(
            f"`{name}` is empty. Received: shape={tuple(array.shape)}"
        )
    integer = np.issubdtype(array.dtype, np.integer)
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    low, high = float(array.min()), float(array.max())
    # Integers are always on the 0..255 scale; floats on 0..1 unless some value
    # exceeds 1. Values are never clipped: a normalised image (negative values,
    # mean-subtracted) would display wrongly, so it is refused instead.
    if low < 0 or high > 255:
        raise ValueError(
            f"`{name}` must hold pixel values in 0..1 or 0..255. Received "
            f"values from {low:g} to {high:g}. Pass the image before "
            f"model-specific preprocessing (mean subtraction, scaling to "
            f"-1..1)."
        )
    if integer or high > 1:
        array = array / 255.0
    return array


def _check_strings(values, name):
    return _validation.check_str_list(
        name,
        values,
        "a list of strings (split a caption into words with caption.split())",
    )


def _is_sequence(value):
    return isinstance(value, (list, tuple)) or (
        isinstance(value, np.ndarray) and value.ndim == 1
    )
