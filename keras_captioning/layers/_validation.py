"""Input checks shared by the layers of this subpackage."""

import keras
import numpy as np


def concrete_values(tensor):
    """Returns the values of `tensor` as NumPy when they already exist.

    Inside a traced function (a `tf.function`, `jax.jit`, a symbolic Keras
    call) values do not exist yet and `None` is returned, so checks on values
    run for eager calls only and never break compilation.
    """
    if isinstance(tensor, np.ndarray):
        return tensor
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


def check_token_ids(token_ids, vocabulary_size, argument="token_ids"):
    """Raises a clear error for float ids or, when known, out-of-range ids."""
    dtype = keras.backend.standardize_dtype(token_ids.dtype)
    if "int" not in dtype:
        raise TypeError(
            f"`{argument}` must be an integer tensor of token ids. Received "
            f"dtype {dtype}. Convert captions with a tokenizer, or cast the "
            "ids to int32."
        )
    values = concrete_values(token_ids)
    if values is None or values.size == 0:
        return
    low, high = int(values.min()), int(values.max())
    if low < 0 or high >= vocabulary_size:
        raise ValueError(
            f"`{argument}` must hold ids in [0, {vocabulary_size - 1}] "
            f"(vocabulary_size={vocabulary_size}). Received ids from {low} "
            f"to {high}."
        )
