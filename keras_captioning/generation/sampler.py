import math
import numbers

import keras
from keras import ops

# Tokens that may never be chosen get this log-probability. Finite sentinels
# (such as -1e9) drift when added up over many steps; -inf stays exactly
# -inf, so "impossible" can be told apart from "very unlikely" at the end.
_IMPOSSIBLE = -math.inf


def _check_token_id(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be a non-negative integer token id. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )
    if value < 0:
        raise ValueError(
            f"`{name}` must be a non-negative integer token id. "
            f"Received: {name}={value}"
        )
    return int(value)


class Sampler:
    """Base class of the caption generation loops.

    A sampler owns the decoding loop; the model hands it one function that
    advances the decoder by one token. The loop runs in `keras.ops.while_loop`
    over a fixed-size token buffer, so a whole call compiles on every backend
    (`tf.function(jit_compile=True)` on TensorFlow, `jax.jit` on JAX; PyTorch
    runs it eagerly). For a recurrent decoder the recurrent state is the cache:
    one step costs one cell update, never a re-run of the prefix.

    Use one of the subclasses, `GreedySampler`, `BeamSampler` or
    `RandomSampler`, or pick one by name with
    `keras_captioning.generation.get`.

    Call arguments:
        step_fn: callable `step_fn(token_ids, state) -> (logits, new_state,
            extras)`. `token_ids` is an int32 tensor `(rows,)` holding the
            previous token of each row; `logits` is a float tensor `(rows,
            vocabulary_size)` of any float dtype; `new_state` has the
            structure and shapes of `state`; `extras` is `None` or a tensor
            `(rows, ...)` to record for each generated token (attention
            weights, for instance). `rows` is the batch size, times
            `beam_width` for beam search.
        initial_state: tensor or nested structure (dict, list, tuple) of
            tensors, each with the batch as leading dimension; at least one
            tensor is needed, as it gives the batch size.
        start_token_id: int. Token fed to `step_fn` at the first step.
            Defaults to `1`.
        end_token_id: int. Token that ends a caption; it is kept in the
            output and may not be banned. Defaults to `2`.
        max_length: int. Most tokens generated per caption, the end token
            included; it fixes the size of the output buffer. Defaults to
            `21`.
        banned_token_ids: sequence of ints or `None`. Tokens never generated.
            `None` bans `pad_token_id` and `start_token_id`; pass `()` to
            allow every token. Defaults to `None`.
        pad_token_id: int. Token written after the end of a caption.
            Defaults to `0`.

    Returns:
        A dict with:
        - `"token_ids"`: int32 tensor `(batch, max_length)`, the generated
          tokens without the start token, the end token included when it was
          generated and `pad_token_id` after it.
        - `"scores"`: float32 tensor `(batch,)`, the log-probability of each
          caption under the model: the sum of `log_softmax(logits)` of its
          tokens up to and including the end token, whatever temperature or
          filtering chose them. `BeamSampler` returns its ranking score,
          which includes the length penalty.
        - `"extras"`: only when `step_fn` returns extras: tensor `(batch,
          max_length, ...)` of the extras of the chosen tokens, zeros after
          the end.

    Example:
    >>> import numpy as np
    >>> # A bigram model over 5 tokens: pad, start, end, "a", "b".
    >>> table = np.log(np.array([
    ...     [0.2, 0.2, 0.2, 0.2, 0.2],
    ...     [0.1, 0.1, 0.15, 0.6, 0.05],
    ...     [0.2, 0.2, 0.2, 0.2, 0.2],
    ...     [0.1, 0.1, 0.2, 0.1, 0.5],
    ...     [0.1, 0.1, 0.7, 0.05, 0.05],
    ... ], "float32"))
    >>> def step_fn(token_ids, state):
    ...     return keras.ops.take(table, token_ids, axis=0), state, None
    >>> sampler = keras_captioning.generation.GreedySampler()
    >>> outputs = sampler(step_fn, np.zeros((1, 1)), max_length=5)
    >>> keras.ops.convert_to_numpy(outputs["token_ids"]).tolist()
    [[3, 4, 2, 0, 0]]
    """

    def __call__(
        self,
        step_fn,
        initial_state,
        start_token_id=1,
        end_token_id=2,
        max_length=21,
        banned_token_ids=None,
        pad_token_id=0,
    ):
        if not callable(step_fn):
            raise TypeError(
                "`step_fn` must be a callable `step_fn(token_ids, state) -> "
                "(logits, new_state, extras)`. "
                f"Received: step_fn={step_fn!r}"
            )
        start_token_id = _check_token_id("start_token_id", start_token_id)
        end_token_id = _check_token_id("end_token_id", end_token_id)
        pad_token_id = _check_token_id("pad_token_id", pad_token_id)
        if isinstance(max_length, bool) or not isinstance(
            max_length, numbers.Integral
        ):
            raise TypeError(
                "`max_length` must be a positive integer. "
                f"Received: max_length={max_length!r} of type "
                f"{type(max_length).__name__}"
            )
        if max_length < 1:
            raise ValueError(
                "`max_length` must be a positive integer. "
                f"Received: max_length={max_length}"
            )
        if banned_token_ids is None:
            banned_token_ids = (pad_token_id, start_token_id)
        if isinstance(banned_token_ids, (str, bytes)) or not hasattr(
            banned_token_ids, "__iter__"
        ):
            raise TypeError(
                "`banned_token_ids` must be a sequence of token ids or None. "
                f"Received: banned_token_ids={banned_token_ids!r}"
            )
        banned_token_ids = tuple(
            sorted(
                {
                    _check_token_id("banned_token_ids", token_id)
                    for token_id in banned_token_ids
                }
            )
        )
        if end_token_id in banned_token_ids:
            raise ValueError(
                "`end_token_id` may not be banned, or no caption could end. "
                f"Received: end_token_id={end_token_id}, "
                f"banned_token_ids={banned_token_ids}"
            )
        initial_state = self._prepare_state(initial_state)
        return self._generate(
            step_fn,
            initial_state,
            start_token_id=start_token_id,
            end_token_id=end_token_id,
            max_length=int(max_length),
            banned_token_ids=banned_token_ids,
            pad_token_id=pad_token_id,
        )

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        options = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({options})"

    # The default loop keeps one candidate per row; greedy decoding and
    # sampling differ only in `_choose_token_ids` and `_draw_noise`.

    def _draw_noise(self, batch_size, max_length):
        """Randomness for the whole call, drawn before the loop, or `None`."""
        return None

    def _choose_token_ids(self, log_probs, noise, index):
        """Picks one token per row from `(rows, vocabulary)` log-probs.

        Banned tokens already have a log-probability of -inf.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement `_choose_token_ids`."
        )

    def _generate(
        self,
        step_fn,
        initial_state,
        start_token_id,
        end_token_id,
        max_length,
        banned_token_ids,
        pad_token_id,
    ):
        batch_size = self._batch_size(initial_state)
        noise = self._draw_noise(batch_size, max_length)

        first_token_ids = ops.full((batch_size,), start_token_id, "int32")
        logits, state, extras = self._call_step_fn(
            step_fn,
            first_token_ids,
            initial_state,
            end_token_id=end_token_id,
            banned_token_ids=banned_token_ids,
            pad_token_id=pad_token_id,
        )
        banned_mask = self._banned_mask(logits, banned_token_ids)

        token_ids = ops.full((batch_size, max_length), pad_token_id, "int32")
        done = ops.zeros((batch_size,), "bool")
        scores = ops.zeros((batch_size,), "float32")
        extras_buffer = self._empty_extras_buffer(extras, max_length)

        def advance(index, logits, state, extras, carry):
            token_ids, _, done, scores, extras_buffer = carry
            log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
            allowed_log_probs = ops.where(banned_mask, _IMPOSSIBLE, log_probs)
            chosen = self._choose_token_ids(allowed_log_probs, noise, index)
            chosen = ops.cast(chosen, "int32")
            chosen_log_probs = ops.take_along_axis(
                log_probs, chosen[:, None], axis=-1
            )[:, 0]
            # Rows that have ended are frozen: pad, no score change, no
            # extras.
            chosen = ops.where(done, pad_token_id, chosen)
            scores = scores + ops.where(done, 0.0, chosen_log_probs)
            token_ids = self._write_step(token_ids, index, chosen)
            if extras is not None:
                extras_buffer = self._write_step(
                    extras_buffer, index, self._zero_where(done, extras)
                )
            done = ops.logical_or(done, ops.equal(chosen, end_token_id))
            return (
                index + 1,
                (token_ids, chosen, done, scores, extras_buffer),
                state,
            )

        index, carry, state = advance(
            ops.convert_to_tensor(0, "int32"),
            logits,
            state,
            extras,
            (token_ids, first_token_ids, done, scores, extras_buffer),
        )

        def cond(index, carry, state):
            done = carry[2]
            return ops.logical_and(
                ops.less(index, max_length),
                ops.logical_not(ops.all(done)),
            )

        def body(index, carry, state):
            logits, state, extras = step_fn(carry[1], state)
            return advance(index, logits, state, extras, carry)

        _, carry, _ = ops.while_loop(cond, body, (index, carry, state))
        token_ids, _, _, scores, extras_buffer = carry
        outputs = {"token_ids": token_ids, "scores": scores}
        if extras is not None:
            outputs["extras"] = extras_buffer
        return outputs

    # Helpers shared by every loop.

    def _prepare_state(self, initial_state):
        leaves = keras.tree.flatten(initial_state)
        if not leaves:
            raise ValueError(
                "`initial_state` must hold at least one tensor whose leading "
                "dimension is the batch size. Received: "
                f"initial_state={initial_state!r}"
            )
        state = keras.tree.map_structure(ops.convert_to_tensor, initial_state)
        batch_sizes = set()
        for leaf in keras.tree.flatten(state):
            if len(leaf.shape) == 0:
                raise ValueError(
                    "Every tensor of `initial_state` must have the batch as "
                    "leading dimension; found a scalar. Received: "
                    f"initial_state={initial_state!r}"
                )
            if leaf.shape[0] is not None:
                batch_sizes.add(leaf.shape[0])
        if len(batch_sizes) > 1:
            shapes = keras.tree.map_structure(lambda x: tuple(x.shape), state)
            raise ValueError(
                "Every tensor of `initial_state` must have the same leading "
                f"(batch) dimension. Received shapes: {shapes}"
            )
        return state

    def _batch_size(self, state):
        leaf = keras.tree.flatten(state)[0]
        static = leaf.shape[0]
        return static if static is not None else ops.shape(leaf)[0]

    def _call_step_fn(
        self,
        step_fn,
        token_ids,
        state,
        end_token_id,
        banned_token_ids,
        pad_token_id,
    ):
        """First call of `step_fn`, checked, so the loop gets clear errors."""
        outputs = step_fn(token_ids, state)
        if not isinstance(outputs, (tuple, list)) or len(outputs) != 3:
            raise TypeError(
                "`step_fn` must return a tuple `(logits, new_state, extras)`. "
                f"Received: {outputs!r}"
            )
        logits, new_state, extras = outputs
        logits = ops.convert_to_tensor(logits)
        rows = token_ids.shape[0]
        if len(logits.shape) != 2 or (
            rows is not None
            and logits.shape[0] is not None
            and logits.shape[0] != rows
        ):
            raise ValueError(
                "`step_fn` must return logits of shape (rows, "
                f"vocabulary_size) with rows={rows}. Received logits of "
                f"shape {tuple(logits.shape)}"
            )
        if not keras.backend.is_float_dtype(logits.dtype):
            raise TypeError(
                "`step_fn` must return float logits. Received logits of "
                f"dtype {keras.backend.standardize_dtype(logits.dtype)}"
            )
        try:
            keras.tree.assert_same_structure(state, new_state)
        except (TypeError, ValueError) as error:
            raise ValueError(
                "`step_fn` must return the new state with the same nested "
                "structure (same containers, same keys) as the state it "
                f"receives. Received state {state!r} and new state "
                f"{new_state!r}"
            ) from error
        new_state = keras.tree.map_structure(ops.convert_to_tensor, new_state)
        for old, new in zip(
            keras.tree.flatten(state),
            keras.tree.flatten(new_state),
            strict=True,
        ):
            if tuple(old.shape) != tuple(new.shape):
                raise ValueError(
                    "`step_fn` must keep the shape of every state tensor. "
                    f"Received a state tensor of shape {tuple(old.shape)} "
                    f"returned with shape {tuple(new.shape)}"
                )
        if extras is not None:
            extras = ops.convert_to_tensor(extras)
            if len(extras.shape) < 2 or (
                rows is not None
                and extras.shape[0] is not None
                and extras.shape[0] != rows
            ):
                raise ValueError(
                    "`step_fn` must return `extras` as None or a tensor of "
                    f"shape (rows, ...) with rows={rows}. Received extras of "
                    f"shape {tuple(extras.shape)}"
                )
        vocabulary_size = logits.shape[-1]
        if vocabulary_size is not None:
            for name, token_id in (
                ("end_token_id", end_token_id),
                ("pad_token_id", pad_token_id),
            ):
                if token_id >= vocabulary_size:
                    raise ValueError(
                        f"`{name}` must be smaller than the vocabulary size "
                        f"{vocabulary_size} of the logits. Received: "
                        f"{name}={token_id}"
                    )
            out_of_range = [t for t in banned_token_ids if t >= vocabulary_size]
            if out_of_range:
                raise ValueError(
                    "`banned_token_ids` must be smaller than the vocabulary "
                    f"size {vocabulary_size} of the logits. Received: "
                    f"banned_token_ids={banned_token_ids}"
                )
        return logits, new_state, extras

    def _banned_mask(self, logits, banned_token_ids):
        """Bool `(1, vocabulary)` mask, True where a token is banned."""
        vocabulary = ops.arange(ops.shape(logits)[-1], dtype="int32")
        banned = ops.convert_to_tensor(
            list(banned_token_ids) or [-1], dtype="int32"
        )
        mask = ops.any(ops.equal(vocabulary[:, None], banned[None, :]), axis=1)
        return mask[None, :]

    def _empty_extras_buffer(self, extras, max_length):
        if extras is None:
            # `while_loop` takes no `None` among its loop variables.
            return ()
        shape = ops.shape(extras)
        return ops.zeros((shape[0], max_length) + shape[1:], extras.dtype)

    def _write_step(self, buffer, index, values):
        """Writes `values` `(rows, ...)` at position `index` of axis 1."""
        start = [0, index] + [0] * (len(buffer.shape) - 2)
        return ops.slice_update(
            buffer, start, ops.cast(values[:, None], buffer.dtype)
        )

    def _zero_where(self, rows_mask, values):
        mask = ops.reshape(rows_mask, (-1,) + (1,) * (len(values.shape) - 1))
        return ops.where(mask, ops.zeros_like(values), values)
