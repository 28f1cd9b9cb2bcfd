"""The decoding loop every sampler shares, and its export-friendly writes.

Samplers differ in what one step does (`advance`); the scaffolding around it
(first step, `while_loop`, stopping rule) lives here once. Writes into the
fixed-size buffers use `where` with a position mask rather than
`slice_update`, and token choices use `top_k` rather than `argmax`: on
TensorFlow these lower to ops that LiteRT and tf2onnx convert.
"""

import math

from keras import ops

# Tokens that may never be chosen get this log-probability. Finite sentinels
# (such as -1e9) drift when added up over many steps; -inf stays exactly
# -inf, so "impossible" can be told apart from "very unlikely" at the end.
IMPOSSIBLE = -math.inf


def run_loop(step_fn, logits, state, extras, carry, advance, max_length):
    """Runs `advance` on the first step's outputs, then loops `step_fn`.

    Args:
        step_fn: `step_fn(token_ids, state) -> (logits, new_state, extras)`.
        logits, state, extras: outputs of the first (checked) `step_fn`
            call, made by the caller, who needs them to size its buffers.
        carry: dict of loop tensors; `carry["last"]` holds the tokens fed to
            the next step and `carry["done"]` whether each row has ended.
        advance: `advance(index, logits, extras, carry, state) -> (carry,
            state)`, one generation step at position `index`.
        max_length: int, the most steps.

    Returns:
        The final `carry`.
    """
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


def token_mask(logits, banned_token_ids, end_token_id, force_end_token):
    """Returns `mask(index)`: bool `(1, vocabulary)`, True where forbidden.

    Banned tokens are always forbidden; with `force_end_token`, every token
    but the end token is forbidden at the last position, `max_length - 1`.
    """
    vocabulary = ops.arange(ops.shape(logits)[-1], dtype="int32")
    banned = ops.convert_to_tensor(list(banned_token_ids) or [-1], "int32")
    banned_mask = ops.any(
        ops.equal(vocabulary[:, None], banned[None, :]), axis=1
    )[None, :]
    if not force_end_token:
        return lambda index, max_length: banned_mask
    not_end = ops.not_equal(vocabulary, end_token_id)[None, :]

    def mask(index, max_length):
        return ops.where(
            ops.greater_equal(index, max_length - 1), not_end, banned_mask
        )

    return mask


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
    """Indices `(rows, k)` of the `k` largest values per row, best first.

    `top_k` rather than `argmax`/`argsort`, which TensorFlow lowers to ops
    LiteRT has no built-in for. Ties go to the lowest index.
    """
    return ops.top_k(values, k=k)[1]


def pick(values, indices):
    """`values[b, indices[b, k]]` `(batch, k)`, by a masked sum (no gather
    along an axis, which the converters handle less well)."""
    hits = ops.equal(
        ops.arange(ops.shape(values)[-1], dtype="int32")[None, None, :],
        indices[:, :, None],
    )
    return ops.sum(ops.where(hits, values[:, None, :], 0.0), axis=-1)
