"""A scan whose outputs are its carries, compiled correctly on every backend.

On TensorFlow, `keras.ops.scan` runs a `tf.while_loop` without
`maximum_iterations`, so the gradient's accumulators have no fixed size and
XLA refuses to compile training (`jit_compile=True`): "XLA compilation
requires a fixed tensor list size". `tf.scan` bounds its loop by the number
of steps, which XLA accepts. The other backends use `keras.ops.scan`.
"""

import keras
from keras import ops


def scan_carries(body, initial_carry, sequences):
    """Runs `body(carry, step_inputs) -> new_carry` over axis 0.

    Args:
        body: one step; returns a carry of the structure of `initial_carry`.
        initial_carry: nested structure of tensors.
        sequences: nested structure of tensors, time first.

    Returns:
        Every step's carry, stacked along a new axis 0.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.scan(body, sequences, initializer=initial_carry)

    def step(carry, step_inputs):
        new_carry = body(carry, step_inputs)
        return new_carry, new_carry

    return ops.scan(step, initial_carry, sequences)[1]
