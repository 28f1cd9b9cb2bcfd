"""The decoding loop every sampler shares, and its export-friendly writes.

Writes into the fixed-size buffers use `where` with a position mask, not
`slice_update`, and choices use `top_k`, not `argmax`: on TensorFlow these
lower to ops that LiteRT and tf2onnx convert.
"""

import math

from keras import ops

# Tokens that may never be chosen get this log-probability. Finite sentinels
# (such as -1e9) drift when added up over many steps; -inf stays exactly
# -inf, so "impossible" can be told apart from "very unlikely" at the end.
IMPOSSIBLE = -math.inf


def run_loop(step_fn, logits, state, extras, carry, advance, arguments):
    """Runs `advance` on the first step's outputs, then loops `step_fn`
    until every row is done or `max_length` steps are taken.

    `logits, state, extras` come from the first (checked) `step_fn` call,
    which the caller makes to size its buffers; `carry` is the dict of loop
    tensors, `carry["last"]` the tokens fed to the next step and
    `carry["done"]` whether each row has ended; `advance(index, logits,
    extras, carry, state) -> (carry, state)` is one step at position
    `index`. Returns the final `carry`.
    """
    max_length = arguments["max_length"]
    index = ops.convert_to_tensor(0, "int32")
    carry, state = advance(index, logits, extras, carry, state)

    def cond(index, carry, state):
        return ops.logical_and(
            ops.less(index, max_length),
            ops.logical_not(ops.all(carry["done"])),
        )

    def body(index, carry, state):
        logits, state, extras = step_fn(carry["last"], state)
        carry, state = advance(index, logits, extras, carry, state)
        return index + 1, carry, state

    _, carry, _ = ops.while_loop(cond, body, (index + 1, carry, state))
    return carry


def empty_buffer(values, max_length, fill=0):
    """A `(rows, max_length, ...)` buffer for per-step `values` `(rows, ...)`.

    `None` values give `()`: `while_loop` takes no `None` loop variable.
    """
    if values is None:
        return ()
    shape = ops.shape(values)
    return ops.full(
        (shape[0], max_length) + tuple(shape[1:]), fill, values.dtype
    )


def extend(carry, index, chosen, frozen, extras, **arguments):
    """The loop buffers of `carry` with `chosen` and `extras` written at
    `index`: pad and zeros in `frozen` rows, which stay done."""
    chosen = ops.where(frozen, arguments["pad_token_id"], chosen)
    extras_buffer = carry["extras"]
    if extras is not None:
        extras_buffer = write_at(
            extras_buffer, index, zero_where(frozen, extras)
        )
    return {
        "token_ids": write_at(carry["token_ids"], index, chosen),
        "last": chosen,
        "done": ops.logical_or(
            frozen, ops.equal(chosen, arguments["end_token_id"])
        ),
        "extras": extras_buffer,
    }


def write_at(buffer, index, values):
    """Writes `values` `(rows, ...)` at position `index` of axis 1."""
    length = buffer.shape[1]
    position = ops.equal(ops.arange(length, dtype="int32"), index)
    position = ops.reshape(
        position, (1, length) + (1,) * (len(buffer.shape) - 2)
    )
    return ops.where(
        position, ops.cast(ops.expand_dims(values, 1), buffer.dtype), buffer
    )


def zero_where(rows_mask, values):
    """`values` `(rows, ...)` with the rows where `rows_mask` is True zeroed."""
    mask = ops.reshape(rows_mask, (-1,) + (1,) * (len(values.shape) - 1))
    return ops.where(mask, ops.zeros_like(values), values)


def best_indices(values, k=1):
    """Indices `(rows, k)` of the `k` largest values per row, best first,
    ties to the lowest index (`top_k`: LiteRT has no `argmax`/`argsort`)."""
    return ops.top_k(values, k=k)[1]


def pick(values, indices):
    """`values[b, indices[b, k]]` `(batch, k)`, by a masked sum (no gather
    along an axis, which the converters handle less well)."""
    hits = ops.equal(
        ops.arange(ops.shape(values)[-1], dtype="int32")[None, None, :],
        indices[:, :, None],
    )
    return ops.sum(ops.where(hits, values[:, None, :], 0.0), axis=-1)
