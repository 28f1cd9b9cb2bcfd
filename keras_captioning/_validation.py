"""Argument checks for the whole package, worded the Keras way.

Every public entry point checks its arguments here, once, at the boundary:
"`units` must be a positive integer. Received: units=0". Checks on tensor
values run only where values exist (eager calls), never inside a compiled
loop.
"""

import math
import numbers

import keras
import numpy as np


def check_int(name, value, minimum=1, maximum=None, allow_none=False):
    """An integer in `[minimum, maximum]` (a Python or NumPy int, not bool)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be an integer{' or None' if allow_none else ''}. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(
            f"`{name}` must be {_range_text(minimum, maximum)}. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def check_float(name, value, minimum=None, maximum=None, allow_none=False):
    """A finite real number (int or float, not bool) within the bounds."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be a number{' or None' if allow_none else ''}. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(
            f"`{name}` must be a finite number. Received: {name}={value!r}"
        )
    if (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        raise ValueError(
            f"`{name}` must be a number {_bounds_text(minimum, maximum)}. "
            f"Received: {name}={value!r}"
        )
    return value


def check_fraction(name, value, include_one=False):
    """A float in `[0, 1)`, or `[0, 1]` with `include_one`."""
    value = check_float(name, value)
    upper_ok = value <= 1.0 if include_one else value < 1.0
    if value < 0.0 or not upper_ok:
        interval = "[0, 1]" if include_one else "[0, 1)"
        raise ValueError(
            f"`{name}` must be a float in {interval}. "
            f"Received: {name}={value!r}"
        )
    return value


def check_bool(name, value):
    """A Python bool (not an int that looks like one)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"`{name}` must be a bool. Received: {name}={value!r} of type "
            f"{type(value).__name__}"
        )
    return bool(value)


def check_choice(name, value, choices):
    """One of `choices` (compared with `==`)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"`{name}` must be one of {tuple(choices)}. Received: "
            f"{name}={value!r}"
        )
    return value


def check_rank(name, shape, ranks, expected, hint=""):
    """The rank of `shape` is one of `ranks`; `expected` describes them."""
    shape = tuple(shape)
    ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
    if len(shape) not in ranks:
        message = (
            f"`{name}` must have shape {expected}. Received shape {shape}."
        )
        raise ValueError(f"{message} {hint}".strip())
    return shape


def check_same_batch(**shapes):
    """All named shapes agree on their first (batch) dimension, when known.

    Example: `check_same_batch(token_ids=(2, 5), image_features=(3, 49, 8))`
    raises, naming both arguments and their shapes.
    """
    known = {
        name: tuple(shape)
        for name, shape in shapes.items()
        if shape is not None and len(shape) and shape[0] is not None
    }
    if len({shape[0] for shape in known.values()}) > 1:
        listing = ", ".join(f"{name} {shape}" for name, shape in known.items())
        raise ValueError(
            "These arguments must have the same batch size (first "
            f"dimension). Received shapes: {listing}."
        )


def check_token_id(name, value):
    """A single non-negative integer token id."""
    return check_int(name, value, minimum=0)


def concrete_values(tensor):
    """Returns the values of `tensor` as NumPy when they already exist.

    Inside a traced function (a `tf.function`, `jax.jit`, a symbolic Keras
    call) values do not exist yet and `None` is returned, so checks on values
    run for eager calls only and never break compilation.
    """
    if isinstance(tensor, (np.ndarray, np.generic)):
        return np.asarray(tensor)
    if isinstance(tensor, keras.KerasTensor):
        return None
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.executing_eagerly() and hasattr(tensor, "numpy"):
            return tensor.numpy()
        return None
    if backend == "jax":
        import jax

        if isinstance(tensor, jax.core.Tracer):
            return None
        return np.asarray(tensor)
    if backend == "torch":
        if tensor.device.type == "meta":
            return None
        return tensor.detach().cpu().numpy()
    return None


def check_token_ids(token_ids, vocabulary_size, name="token_ids"):
    """Integer ids, and when their values are known, in the vocabulary."""
    dtype = keras.backend.standardize_dtype(token_ids.dtype)
    if "int" not in dtype:
        raise TypeError(
            f"`{name}` must be an integer tensor of token ids. Received "
            f"dtype {dtype}. Convert captions with a tokenizer, or cast the "
            "ids to int32."
        )
    values = concrete_values(token_ids)
    if values is None or values.size == 0:
        return
    low, high = int(values.min()), int(values.max())
    if low < 0 or high >= vocabulary_size:
        raise ValueError(
            f"`{name}` must hold ids in [0, {vocabulary_size - 1}] "
            f"(vocabulary_size={vocabulary_size}). Received ids from {low} "
            f"to {high}."
        )


def _range_text(minimum, maximum):
    if maximum is not None:
        return f"an integer in [{minimum}, {maximum}]"
    if minimum == 1:
        return "a positive integer"
    if minimum == 0:
        return "a non-negative integer"
    return f"an integer >= {minimum}"


def _bounds_text(minimum, maximum):
    if minimum is not None and maximum is not None:
        return f"in [{minimum}, {maximum}]"
    if minimum is not None:
        return f">= {minimum}"
    return f"<= {maximum}"
