"""Backend-specific compilation of a generation function, in one place.

`ImageCaptioner.make_generate_function` hands over a plain Python function
`images -> outputs`; this module returns it compiled for the backend:
`tf.function` (with or without XLA) on TensorFlow, `jax.jit` over the
model's and sampler's variables on JAX, and an eager call without autograd
on PyTorch (which has no compiled `while_loop`).
"""

import collections

import keras


def compile_function(function, variables, updated_variables, jit_compile):
    """Compiles `function(images) -> outputs` for the current backend.

    Args:
        function: the plain generation function.
        variables: the Keras variables it reads (the model's weights).
        updated_variables: the Keras variables it updates (a sampler's seed
            states); JAX threads them in and out of the pure function.
        jit_compile: bool. `False` runs without XLA: `tf.function` without
            `jit_compile` on TensorFlow, the plain function on JAX.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=jit_compile)
    if backend == "jax" and jit_compile:
        return _jax_function(function, variables, updated_variables)
    return eager_function(function)


def eager_function(function):
    """`function` as plain Python; on PyTorch without autograd."""
    if keras.backend.backend() != "torch":
        return function
    import torch

    def function_without_autograd(images):
        # Eager PyTorch would otherwise record every loop step for a
        # backward pass that never comes (4-8x the memory in beam search).
        with torch.no_grad():
            return function(images)

    return function_without_autograd


def _jax_function(function, variables, updated_variables):
    import jax

    variables = list(variables) + list(updated_variables)
    updated_variables = list(updated_variables)

    def stateless_function(values, images):
        mapping = list(zip(variables, values))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            outputs = function(images)
            updated = [scope.get_current_value(v) for v in updated_variables]
        return outputs, updated

    compiled = jax.jit(stateless_function)

    def run(images):
        outputs, updated = compiled([v.value for v in variables], images)
        for variable, value in zip(updated_variables, updated):
            variable.assign(value)
        return outputs

    return run


class FunctionCache:
    """A bounded least-recently-used cache of generation functions.

    A plain object, not a dict: Keras and TensorFlow track the dicts and
    lists a model holds (and `ExportArchive` then chokes on the non-string
    keys); this one stays out of the model's tracked state.
    """

    def __init__(self, size=8):
        self.size = size
        self._entries = collections.OrderedDict()

    def get(self, key, create):
        """The value for `key`, made by `create()` when absent."""
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        value = create()
        self._entries[key] = value
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value

    def __len__(self):
        return len(self._entries)

    def clear(self):
        self._entries.clear()
