"""Toy step functions for the sampler tests, with NumPy references.

Token ids used throughout: 0 pad, 1 start, 2 end, 3 unknown; the words
start at 4. Every toy is deterministic given its NumPy seed, so a
Hypothesis example is just a handful of integers.
"""

import itertools

import keras
import numpy as np
from keras import ops

PAD, START, END, UNKNOWN = 0, 1, 2, 3
BANNED = (PAD, START, UNKNOWN)


def log_softmax(x):
    x = np.asarray(x, "float64")
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class MarkovChain:
    """Bigram model: the logits depend on the previous token only.

    The state is a step counter `(batch, 1)`; the extras record, for each
    step, the token fed in and the step number, so a test can check that
    the recorded extras belong to the chosen tokens.
    """

    def __init__(self, seed, vocabulary_size, scale=2.0):
        rng = np.random.default_rng(seed)
        self.table = (
            rng.normal(size=(vocabulary_size, vocabulary_size)) * scale
        ).astype("float32")
        self.vocabulary_size = vocabulary_size

    def initial_state(self, batch_size):
        return {"step": np.zeros((batch_size, 1), "float32")}

    def __call__(self, token_ids, state):
        logits = ops.take(ops.convert_to_tensor(self.table), token_ids, axis=0)
        step = state["step"]
        extras = ops.concatenate(
            [ops.cast(token_ids, "float32")[:, None], step], axis=-1
        )
        return logits, {"step": step + 1.0}, extras

    def row_states(self, initial_state):
        return [None] * len(initial_state["step"])

    def next_log_probs(self, row_state, prefix):
        """NumPy log-probabilities of the token after `prefix`."""
        return log_softmax(self.table[prefix[-1] if prefix else START])

    def sequence_log_prob(self, row_state, tokens):
        return sequence_log_prob(self, row_state, tokens)


class ToyRNN:
    """Recurrent toy: the logits depend on the whole prefix via the state.

    `h' = tanh(h @ A + E[token])`, `logits = h' @ B`. Beam search must carry
    each beam's own state for its scores to match the NumPy reference.
    """

    def __init__(self, seed, vocabulary_size, units=6, scale=3.0):
        rng = np.random.default_rng(seed)
        self.recurrent = rng.normal(size=(units, units)).astype("float32")
        self.embedding = rng.normal(size=(vocabulary_size, units)).astype(
            "float32"
        )
        self.output = (
            rng.normal(size=(units, vocabulary_size)) * scale / np.sqrt(units)
        ).astype("float32")
        self.units = units
        self.vocabulary_size = vocabulary_size
        self._rng = rng

    def initial_state(self, batch_size):
        return [
            self._rng.normal(size=(batch_size, self.units)).astype("float32")
        ]

    def __call__(self, token_ids, state):
        (hidden,) = state
        hidden = ops.tanh(
            ops.matmul(hidden, ops.convert_to_tensor(self.recurrent))
            + ops.take(ops.convert_to_tensor(self.embedding), token_ids, axis=0)
        )
        logits = ops.matmul(hidden, ops.convert_to_tensor(self.output))
        return logits, [hidden], None

    def row_states(self, initial_state):
        return list(initial_state[0])

    def next_log_probs(self, row_state, prefix):
        hidden = np.asarray(row_state, "float64")
        for token in (START,) + tuple(prefix):
            hidden = np.tanh(hidden @ self.recurrent + self.embedding[token])
        return log_softmax(hidden @ self.output)

    def sequence_log_prob(self, row_state, tokens):
        return sequence_log_prob(self, row_state, tokens)


def sequence_log_prob(toy, row_state, tokens):
    """Summed NumPy log-probability of `tokens` under `toy`."""
    tokens = tuple(tokens)
    return sum(
        toy.next_log_probs(row_state, tokens[:i])[token]
        for i, token in enumerate(tokens)
    )


def all_captions(vocabulary_size, max_length, banned=BANNED):
    """Every caption a sampler may produce: ends with END or is full."""
    words = [t for t in range(vocabulary_size) if t not in banned and t != END]
    captions = []
    for length in range(max_length + 1):
        for prefix in itertools.product(words, repeat=length):
            if length < max_length:
                captions.append(prefix + (END,))
            else:
                captions.append(prefix)
    return captions


def caption(row):
    """The generated tokens of one output row, padding after the end cut."""
    row = [int(t) for t in row]
    if END in row:
        return tuple(row[: row.index(END) + 1])
    return tuple(row)


def to_numpy(outputs):
    return {key: ops.convert_to_numpy(value) for key, value in outputs.items()}


def backend():
    return keras.backend.backend()
