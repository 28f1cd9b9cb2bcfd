"""Toy step functions for the sampler tests, with NumPy references.

Token ids used throughout: 0 pad, 1 start, 2 end, 3 unknown; the words
start at 4. Every toy is deterministic given its NumPy seed, so a Hypothesis
example is just a handful of integers.

Each toy keeps its weights in `params` and steps with a plain function
`step(params, token_ids, state)`. On jax an eager sampler call compiles its
loop anew every time (seconds on a busy CPU), so `run` compiles one
`jax.jit` function per toy kind, sampler configuration and call options and
lets jax reuse it for every example of the same shapes. That also runs the
property tests through `jax.jit`, as a captioner does.
"""

import functools
import itertools
import json

import keras
import numpy as np
from keras import ops

PAD, START, END, UNKNOWN = 0, 1, 2, 3
BANNED = (PAD, START, UNKNOWN)
CALL_OPTIONS = {
    "start_token_id": START,
    "end_token_id": END,
    "banned_token_ids": BANNED,
    "pad_token_id": PAD,
}

_COMPILED = {}


def run(sampler, step, params, state, **options):
    """`sampler(step bound to params, state, ...)` as NumPy arrays."""
    options = {**CALL_OPTIONS, **options}
    if keras.backend.backend() != "jax":
        outputs = sampler(functools.partial(step, params), state, **options)
        return to_numpy(outputs)
    import jax

    config = json.dumps(sampler.get_config(), sort_keys=True)
    key = (step, type(sampler), config, tuple(sorted(options.items())))
    if key not in _COMPILED:
        clone = type(sampler).from_config(sampler.get_config())

        def generate(params, state, seed_value):
            # An unseeded sampler's seed state goes in and comes out, as
            # for any Keras variable updated inside `jax.jit`.
            seed_state = _seed_state(clone)
            mapping = [] if seed_state is None else [(seed_state, seed_value)]
            with keras.StatelessScope(state_mapping=mapping) as scope:
                outputs = clone(
                    functools.partial(step, params), state, **options
                )
            if seed_state is not None:
                seed_value = scope.get_current_value(seed_state)
            return outputs, seed_value

        _COMPILED[key] = jax.jit(generate)
    seed_state = _seed_state(sampler)
    outputs, seed_value = _COMPILED[key](
        params, state, None if seed_state is None else seed_state.value
    )
    if seed_state is not None:
        seed_state.assign(seed_value)
    return to_numpy(outputs)


def _seed_state(sampler):
    seed_generator = getattr(sampler, "seed_generator", None)
    return None if seed_generator is None else seed_generator.state


def to_numpy(outputs):
    return {key: ops.convert_to_numpy(value) for key, value in outputs.items()}


def log_softmax(x):
    x = np.asarray(x, "float64")
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def sequence_log_prob(toy, row_state, tokens):
    """Summed NumPy log-probability of `tokens` under `toy`."""
    tokens = tuple(tokens)
    return sum(
        toy.next_log_probs(row_state, tokens[:i])[token]
        for i, token in enumerate(tokens)
    )


class MarkovChain:
    """Bigram model: the logits depend on the previous token only.

    The state is a step counter `(batch, 1)`; the extras record, for each
    step, the token fed in and the step number, so a test can check that
    the recorded extras belong to the chosen tokens.
    """

    def __init__(self, seed, vocabulary_size, scale=2.0):
        rng = np.random.default_rng(seed)
        table = rng.normal(size=(vocabulary_size, vocabulary_size)) * scale
        self.params = {"table": table.astype("float32")}
        self.vocabulary_size = vocabulary_size

    @staticmethod
    def step(params, token_ids, state):
        logits = ops.take(params["table"], token_ids, axis=0)
        step = state["step"]
        extras = ops.concatenate(
            [ops.cast(token_ids, "float32")[:, None], step], axis=-1
        )
        return logits, {"step": step + 1.0}, extras

    def initial_state(self, batch_size):
        return {"step": np.zeros((batch_size, 1), "float32")}

    def row_states(self, initial_state):
        return [None] * len(initial_state["step"])

    def next_log_probs(self, row_state, prefix):
        """NumPy log-probabilities of the token after `prefix`."""
        return log_softmax(
            self.params["table"][prefix[-1] if prefix else START]
        )

    def sequence_log_prob(self, row_state, tokens):
        return sequence_log_prob(self, row_state, tokens)


class ToyRNN:
    """Recurrent toy: the logits depend on the whole prefix via the state.

    `h' = tanh(h @ A + E[token])`, `logits = h' @ B`. Beam search must carry
    each beam's own state for its scores to match the NumPy reference.
    """

    def __init__(self, seed, vocabulary_size, units=6, scale=3.0):
        rng = np.random.default_rng(seed)
        self.params = {
            "recurrent": rng.normal(size=(units, units)).astype("float32"),
            "embedding": rng.normal(size=(vocabulary_size, units)).astype(
                "float32"
            ),
            "output": (
                rng.normal(size=(units, vocabulary_size)) * scale / units**0.5
            ).astype("float32"),
        }
        self.units = units
        self.vocabulary_size = vocabulary_size
        self._rng = rng

    @staticmethod
    def step(params, token_ids, state):
        (hidden,) = state
        hidden = ops.tanh(
            ops.matmul(hidden, params["recurrent"])
            + ops.take(params["embedding"], token_ids, axis=0)
        )
        return ops.matmul(hidden, params["output"]), [hidden], None

    def initial_state(self, batch_size):
        hidden = self._rng.normal(size=(batch_size, self.units))
        return [hidden.astype("float32")]

    def row_states(self, initial_state):
        return list(initial_state[0])

    def next_log_probs(self, row_state, prefix):
        hidden = np.asarray(row_state, "float64")
        for token in (START,) + tuple(prefix):
            hidden = np.tanh(
                hidden @ self.params["recurrent"]
                + self.params["embedding"][token]
            )
        return log_softmax(hidden @ self.params["output"])

    def sequence_log_prob(self, row_state, tokens):
        return sequence_log_prob(self, row_state, tokens)


def all_captions(vocabulary_size, max_length, banned=BANNED):
    """Every caption a sampler may produce: ends with END or is full."""
    words = [t for t in range(vocabulary_size) if t not in banned and t != END]
    captions = []
    for length in range(max_length + 1):
        for prefix in itertools.product(words, repeat=length):
            captions.append(prefix + (END,) if length < max_length else prefix)
    return captions


def caption(row):
    """The generated tokens of one output row, without the padding."""
    row = [int(t) for t in row]
    if END in row:
        return tuple(row[: row.index(END) + 1])
    return tuple(row)
