import json

import keras
from keras import ops

from keras_captioning import _validation
from keras_captioning.generation import _controls
from keras_captioning.generation import _loop


class Sampler:
    """Base class of the caption generation loops.

    A sampler owns the decoding loop; the model hands it one function that
    advances the decoder by one token. The loop runs in `keras.ops.while_loop`
    over a fixed-size token buffer, so a whole call compiles on every backend
    (`tf.function(jit_compile=True)` on TensorFlow, `jax.jit` on JAX; PyTorch
    runs it eagerly). For a recurrent decoder the recurrent state is the cache:
    one step costs one cell update, never a re-run of the prefix.

    Each step the loop hands the logits of every row to two public hooks a
    subclass overrides: `compute_probabilities(logits, token_ids)`, the
    distribution to choose from, and `get_next_token(probabilities, noise)`,
    the choice itself. Whatever they do, the scores stay the
    log-probabilities of the chosen tokens under the model. `BeamSampler`
    ranks several candidates per row itself and does not call the hooks.
    Use a subclass, or pick one by name with
    `keras_captioning.generation.get_sampler`. A subclass with options keeps
    them in `get_config`: `ImageCaptioner` caches one compiled function per
    sampler configuration.

    Every sampler takes the decoding controls below (the Hugging Face
    names). They act inside the compiled loop on every row (every beam),
    before the hooks: a forbidden token gets logit `-inf`. When together
    they leave a row no token at all, the end token is allowed there, so a
    caption ends rather than loops; `force_end_token` wins at the last
    position.

    Args:
        min_length: int. Tokens (words) a caption has before its end token
            may come; at most `max_length` (`max_length - 1` with
            `force_end_token`). Defaults to `0`.
        no_repeat_ngram_size: int. No n-gram of this many generated tokens
            (the start token not counted) occurs twice in a caption; `1`
            forbids any token twice, `0` is off. Defaults to `0`.
        repetition_penalty: float `>= 1`. Keskar et al. (2019): for every
            token already generated in the row, a positive logit is divided
            by it and a negative one multiplied. `1.0` is off. Defaults to
            `1.0`.
        bad_words_ids: `None` or a list whose items are token ids (never
            generated) or lists of token ids (the last never generated right
            after the others: `[[5, 9]]` forbids 9 after 5). The end token
            may not be one. Defaults to `None`.
        bad_endings_ids: `None` or a list of token ids the end token may
            not follow, except at `max_length` with `force_end_token`.
            Defaults to `None`.

    Call arguments:
        step_fn: callable `step_fn(token_ids, state) -> (logits, new_state,
            extras)`. `token_ids` is an int32 tensor `(rows,)` holding the
            previous token of each row; `logits` is a float tensor `(rows,
            vocabulary_size)` of any float dtype; `new_state` has the
            structure and shapes of `state`; `extras` is `None` or a tensor
            `(rows, ...)` to record for each generated token (attention
            weights, for instance). `rows` is the batch size, times
            `beam_width` for beam search.
        initial_state: tensor or nested structure of tensors (at least
            one), each with the batch as leading dimension.
        start_token_id: int. Token fed to `step_fn` at the first step.
            Defaults to `1`.
        end_token_id: int. Token that ends a caption; it is kept in the
            output and may not be banned. Defaults to `2`.
        max_length: int. Most tokens generated per caption, the end token
            included: the size of the output buffer. Defaults to `21`.
        banned_token_ids: sequence of ints or `None`. Tokens never generated.
            `None` bans `pad_token_id` and `start_token_id`; pass `()` to
            allow every token. Defaults to `None`.
        pad_token_id: int. Token written after the end of a caption.
            Defaults to `0`.
        force_end_token: bool. `True` allows only the end token at the last
            position, so every caption ends within `max_length` tokens;
            `False` lets a caption fill the buffer. Defaults to `False`.

    Returns:
        A dict with:
        - `"token_ids"`: int32 tensor `(batch, max_length)`, the generated
          tokens without the start token, the end token included when it was
          generated and `pad_token_id` after it.
        - `"scores"`: float32 tensor `(batch,)`, the log-probability of each
          caption under the model (the sum of `log_softmax(logits)` of its
          tokens, end token included), whatever temperature or filtering
          chose them; for `BeamSampler`, the ranking score.
        - `"extras"`: only when `step_fn` returns extras: tensor `(batch,
          max_length, ...)` of the extras of the chosen tokens, zeros after
          the end.

    Example:
    >>> # A bigram model over 5 tokens: pad, start, end, "a", "b".
    >>> table = np.log(np.array([[.2] * 5, [.1, .1, .15, .6, .05], [.2] * 5,
    ...     [.1, .1, .2, .1, .5], [.1, .1, .7, .05, .05]], "float32"))
    >>> def step_fn(token_ids, state):
    ...     return keras.ops.take(table, token_ids, axis=0), state, None
    >>> sampler = keras_captioning.generation.GreedySampler()
    >>> outputs = sampler(step_fn, np.zeros((1, 1)), max_length=5)
    >>> keras.ops.convert_to_numpy(outputs["token_ids"]).tolist()
    [[3, 4, 2, 0, 0]]
    >>> # With `force_end_token`, a caption ends at the last position.
    >>> outputs = sampler(
    ...     step_fn, np.zeros((1, 1)), max_length=2, force_end_token=True
    ... )
    >>> keras.ops.convert_to_numpy(outputs["token_ids"]).tolist()
    [[3, 2]]
    """

    # Class-level defaults, so a subclass that skips `__init__` still works.
    min_length = 0
    no_repeat_ngram_size = 0
    repetition_penalty = 1.0
    bad_words_ids = ()
    bad_endings_ids = ()
    _options = (
        "min_length",
        "no_repeat_ngram_size",
        "repetition_penalty",
        "bad_words_ids",
        "bad_endings_ids",
    )

    def __init__(
        self,
        min_length=0,
        no_repeat_ngram_size=0,
        repetition_penalty=1.0,
        bad_words_ids=None,
        bad_endings_ids=None,
    ):
        self._set_options(locals())

    def _set_options(self, arguments):
        """Checks a constructor's options (its `locals()`) with the table
        `_validation.SAMPLER_OPTIONS` and keeps each for `get_config`."""
        options = _validation.check_options(
            _validation.SAMPLER_OPTIONS,
            **{
                name: value
                for name, value in arguments.items()
                if name not in ("self", "controls", "__class__")
            },
        )
        vars(self).update(options)
        self._options = vars(self).get("_options", ()) + tuple(options)

    def __call__(
        self,
        step_fn,
        initial_state,
        start_token_id=1,
        end_token_id=2,
        max_length=21,
        banned_token_ids=None,
        pad_token_id=0,
        force_end_token=False,
    ):
        initial_state, arguments = _validation.check_sampler_call(
            self,
            step_fn,
            initial_state,
            start_token_id=start_token_id,
            end_token_id=end_token_id,
            pad_token_id=pad_token_id,
            max_length=max_length,
            force_end_token=force_end_token,
            banned_token_ids=banned_token_ids,
        )
        return self.generate(step_fn, initial_state, **arguments)

    def get_config(self):
        """The options, decoding controls included."""
        return {
            name: _config_value(getattr(self, name)) for name in self._options
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        # Controls left at their defaults are not shown.
        options = ", ".join(
            f"{k}={v!r}"
            for k, v in self.get_config().items()
            if k not in Sampler._options
            or v != _config_value(getattr(Sampler, k))
        )
        return f"{type(self).__name__}({options})"

    @property
    def variables(self):
        """The state of every `keras.random.SeedGenerator` the sampler
        holds: compiled callers thread them through (`jax.jit` is pure)."""
        return [
            value.state
            for value in vars(self).values()
            if isinstance(value, keras.random.SeedGenerator)
        ]

    def cache_key(self):
        """A hashable key, equal for interchangeable samplers (class,
        config, identity of the variables), for caches of compiled
        generation functions."""
        config = json.dumps(self.get_config(), sort_keys=True, default=repr)
        return (
            type(self).__module__,
            type(self).__qualname__,
            config,
            tuple(id(variable) for variable in self.variables),
        )

    def draw_noise(self, batch_size, max_length):
        """`None` (no randomness) or a float tensor `(batch_size,
        max_length)` drawn before the loop; `get_next_token` receives its
        column `index` at step `index`."""
        return None

    def compute_probabilities(self, logits, token_ids):
        """The distribution the next token is chosen from.

        Args:
            logits: float32 tensor `(rows, vocabulary_size)`, `-inf` for the
                tokens that may not come next.
            token_ids: int32 tensor `(rows, max_length)`, the tokens each
                row has generated so far, `-1` at positions not written yet.

        Returns:
            Float tensor `(rows, vocabulary_size)` of probabilities, 0 where
            the logit is `-inf`. The default is `softmax(logits)`.
        """
        return ops.softmax(logits, axis=-1)

    def get_next_token(self, probabilities, noise):
        """Chooses one token per row: an int tensor `(rows,)` from the
        `probabilities` of `compute_probabilities` and `noise`, `None` or
        this step's float32 column `(rows,)` of `draw_noise`."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `get_next_token`."
        )

    def generate(self, step_fn, initial_state, **arguments):
        """The loop, given the arguments `__call__` checked: one candidate
        per row, each token chosen by the hooks."""
        batch_size = self._batch_size(initial_state)
        noise = self.draw_noise(batch_size, arguments["max_length"])
        logits, state, extras, controls, carry = self._first_step(
            step_fn, initial_state, arguments
        )

        def advance(index, logits, extras, carry, state):
            logits = ops.cast(logits, "float32")
            history = controls.history(carry["token_ids"], index)
            allowed = ops.where(
                controls.forbidden(history, index),
                _loop.IMPOSSIBLE,
                controls.penalise(logits, history),
            )
            probabilities = self.compute_probabilities(allowed, history)
            step_noise = None if noise is None else ops.take(noise, index, 1)
            chosen = self.get_next_token(probabilities, step_noise)
            chosen = ops.cast(chosen, "int32")
            log_probs = ops.log_softmax(logits, axis=-1)
            chosen_log_probs = _loop.pick(log_probs, chosen[:, None])[:, 0]
            # Rows that have ended are frozen: no score change.
            done = carry["done"]
            scores = carry["scores"] + ops.where(done, 0.0, chosen_log_probs)
            carry = _loop.extend(
                carry, index, chosen, done, extras, **arguments
            )
            return {**carry, "scores": scores}, state

        carry["scores"] = ops.zeros((batch_size,), "float32")
        carry = _loop.run_loop(
            step_fn, logits, state, extras, carry, advance, arguments
        )
        outputs = {"token_ids": carry["token_ids"], "scores": carry["scores"]}
        if extras is not None:
            outputs["extras"] = carry["extras"]
        return outputs

    def _batch_size(self, state):
        leaf = keras.tree.flatten(state)[0]
        static = leaf.shape[0]
        return static if static is not None else ops.shape(leaf)[0]

    def _first_step(self, step_fn, state, arguments):
        """Calls `step_fn` on the start tokens, checked, so the loop gets
        clear errors; returns `(logits, state, extras, controls, carry)`:
        the call's `Controls` and the loop's buffers (`token_ids`, `last`,
        `done`, `extras`)."""
        rows = self._batch_size(state)
        start = ops.full((rows,), arguments["start_token_id"], "int32")
        logits, state, extras = _validation.check_step_outputs(
            step_fn(start, state), state, start.shape[0]
        )
        vocabulary_size = logits.shape[-1]
        _validation.check_sampler_ids(self, arguments, vocabulary_size)
        controls = _controls.Controls(
            self, vocabulary_size or ops.shape(logits)[-1], arguments
        )
        max_length = arguments["max_length"]
        carry = {
            "token_ids": _loop.empty_buffer(
                start, max_length, fill=arguments["pad_token_id"]
            ),
            "last": start,
            "done": ops.zeros((rows,), "bool"),
            "extras": _loop.empty_buffer(extras, max_length),
        }
        return logits, state, extras, controls, carry


def _config_value(value):
    """An option as `get_config` gives it: the token-id tuples as lists,
    `None` when empty."""
    if isinstance(value, tuple):
        return [_config_value(item) for item in value] or None
    return value
