"""Every sampler compiles: `tf.function(jit_compile=True)` and `jax.jit`.

The decoder step here is made of real Keras layers, as in a captioner; the
compiled call must return what the eager call returns.
"""

import keras
import numpy as np
import pytest

from keras_captioning import generation

BACKEND = keras.backend.backend()
pytestmark = pytest.mark.skipif(
    BACKEND not in ("tensorflow", "jax"),
    reason="only tensorflow and jax compile the loop; torch runs eagerly",
)
VOCABULARY_SIZE, UNITS, MAX_LENGTH = 11, 16, 7
CALL_OPTIONS = dict(
    start_token_id=1,
    end_token_id=2,
    max_length=MAX_LENGTH,
    banned_token_ids=(0, 1, 3),
    pad_token_id=0,
)


class KerasStep:
    """Embedding -> GRU cell -> logits, with attention-like extras."""

    def __init__(self):
        self.embedding = keras.layers.Embedding(VOCABULARY_SIZE, 8)
        self.cell = keras.layers.GRUCell(UNITS)
        self.attention = keras.layers.Dense(5)
        self.logits = keras.layers.Dense(VOCABULARY_SIZE)

    def __call__(self, token_ids, state):
        hidden, (new_hidden,) = self.cell(
            self.embedding(token_ids), [state["hidden"]]
        )
        extras = keras.ops.softmax(self.attention(hidden))
        # Large logits: eager and compiled rounding must not flip a choice.
        return self.logits(hidden) * 4.0, {"hidden": new_hidden}, extras


def compile_function(function, **kwargs):
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=True, **kwargs)
    import jax

    return jax.jit(function)


def numpy_outputs(outputs):
    return {k: keras.ops.convert_to_numpy(v) for k, v in outputs.items()}


@pytest.mark.parametrize(
    "sampler",
    [
        generation.GreedySampler(),
        generation.BeamSampler(beam_width=3, length_penalty=0.6),
        generation.BeamSampler(beam_width=2, return_all_beams=True),
        generation.RandomSampler(temperature=0.8, top_k=4, seed=9),
    ],
    ids=repr,
)
def test_compiled_generation_matches_eager(sampler):
    step = KerasStep()
    hidden = np.random.default_rng(0).normal(size=(3, UNITS))
    hidden = hidden.astype("float32")

    def run(hidden):
        return sampler(step, {"hidden": hidden}, **CALL_OPTIONS)

    eager = numpy_outputs(run(hidden))
    compiled = numpy_outputs(compile_function(run)(hidden))
    assert sorted(compiled) == ["extras", "scores", "token_ids"]
    np.testing.assert_array_equal(compiled["token_ids"], eager["token_ids"])
    np.testing.assert_allclose(compiled["scores"], eager["scores"], rtol=1e-4)
    np.testing.assert_allclose(
        compiled["extras"], eager["extras"], rtol=1e-4, atol=1e-6
    )


@pytest.mark.skipif(BACKEND != "tensorflow", reason="symbolic batch is tf's")
def test_one_tensorflow_trace_serves_every_batch_size():
    import tensorflow as tf

    step = KerasStep()
    sampler = generation.BeamSampler(beam_width=3, return_all_beams=True)

    def run(hidden):
        return sampler(step, {"hidden": hidden}, **CALL_OPTIONS)

    compiled = compile_function(
        run, input_signature=[tf.TensorSpec((None, UNITS), "float32")]
    )
    hidden = np.random.default_rng(1).normal(size=(3, UNITS))
    hidden = hidden.astype("float32")
    for batch_size in (1, 3):
        outputs = numpy_outputs(compiled(hidden[:batch_size]))
        eager = numpy_outputs(run(hidden[:batch_size]))
        assert outputs["token_ids"].shape == (batch_size, 3, MAX_LENGTH)
        np.testing.assert_array_equal(outputs["token_ids"], eager["token_ids"])


def test_unseeded_sampling_draws_afresh_on_every_compiled_call():
    step = KerasStep()
    sampler = generation.RandomSampler()
    hidden = np.zeros((32, UNITS), "float32")
    seed_state = sampler.seed_generator.state

    if BACKEND == "tensorflow":
        compiled = compile_function(
            lambda h: sampler(step, {"hidden": h}, **CALL_OPTIONS)["token_ids"]
        )
        first, second = compiled(hidden), compiled(hidden)
    else:
        # jax functions are pure: the seed state goes in and comes out, as
        # for any Keras variable updated inside `jax.jit`.
        def run(hidden, seed_value):
            mapping = [(seed_state, seed_value)]
            with keras.StatelessScope(state_mapping=mapping) as scope:
                outputs = sampler(step, {"hidden": hidden}, **CALL_OPTIONS)
            return outputs["token_ids"], scope.get_current_value(seed_state)

        compiled = compile_function(run)
        first, new_seed = compiled(hidden, seed_state.value)
        second, _ = compiled(hidden, new_seed)
    first = keras.ops.convert_to_numpy(first)
    second = keras.ops.convert_to_numpy(second)
    assert (first != second).any()
