"""Every sampler compiles: `tf.function(jit_compile=True)` and `jax.jit`.

The decoder step here is made of real Keras layers, as in a captioner. On
tensorflow the compiled call must return what the eager call returns; on jax
the property tests of the other files already run through `jax.jit`.
"""

import keras
import numpy as np
import pytest

from keras_captioning import generation
from keras_captioning.models import _compiled_generation

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
        # Weights must exist before jax traces the layers.
        self.embedding.build((None,))
        self.cell.build((None, 8))
        self.attention.build((None, UNITS))
        self.logits.build((None, UNITS))
        self.variables = [
            variable
            for layer in (self.embedding, self.cell, self.attention)
            for variable in layer.variables
        ] + list(self.logits.variables)

    def __call__(self, token_ids, state):
        hidden, (new_hidden,) = self.cell(
            self.embedding(token_ids), [state["hidden"]]
        )
        extras = keras.ops.softmax(self.attention(hidden))
        # Large logits: eager and compiled rounding must not flip a choice.
        return self.logits(hidden) * 4.0, {"hidden": new_hidden}, extras


def numpy_outputs(outputs):
    return keras.tree.map_structure(keras.ops.convert_to_numpy, outputs)


def test_every_sampler_compiles_and_matches_eager():
    # One compiled function runs every sampler: one XLA compilation.
    step = KerasStep()
    samplers = {
        "greedy": generation.GreedySampler(),
        "beam": generation.BeamSampler(
            3, length_penalty=0.6, return_all_beams=True
        ),
        "sample": generation.RandomSampler(0.8, top_k=4),
    }
    seed_state = samplers["sample"].seed_generator.state

    def generate_all(hidden):
        return {
            name: sampler(step, {"hidden": hidden}, **CALL_OPTIONS)
            for name, sampler in samplers.items()
        }

    # The compile step the captioner uses, not a copy of it: XLA on
    # tensorflow, `jax.jit` over the weights with the seed state threaded
    # in and out on jax.
    compiled = _compiled_generation.compile_function(
        generate_all,
        variables=step.variables,
        updated_variables=[seed_state],
        jit_compile=True,
    )
    hidden = np.random.default_rng(0).normal(size=(32, UNITS))
    hidden = hidden.astype("float32")
    first = numpy_outputs(compiled(hidden))
    second = numpy_outputs(compiled(hidden))
    for name in ("greedy", "beam"):
        assert sorted(first[name]) == ["extras", "scores", "token_ids"]
    if BACKEND == "tensorflow":
        # The property tests run eagerly on tensorflow (and through
        # `jax.jit` on jax): XLA must agree with them.
        for name in ("greedy", "beam"):
            eager = numpy_outputs(
                samplers[name](step, {"hidden": hidden}, **CALL_OPTIONS)
            )
            np.testing.assert_array_equal(
                first[name]["token_ids"], eager["token_ids"]
            )
            np.testing.assert_allclose(
                first[name]["scores"], eager["scores"], rtol=1e-4
            )
            np.testing.assert_allclose(
                first[name]["extras"], eager["extras"], rtol=1e-4, atol=1e-6
            )
    # Compiled twice, the deterministic samplers agree with themselves.
    for name in ("greedy", "beam"):
        np.testing.assert_array_equal(
            first[name]["token_ids"], second[name]["token_ids"]
        )
    for name in samplers:
        tokens = first[name]["token_ids"]
        assert not np.isin(
            tokens[..., 0], CALL_OPTIONS["banned_token_ids"]
        ).any()
    # Without a seed, every compiled call draws afresh.
    assert (first["sample"]["token_ids"] != second["sample"]["token_ids"]).any()


@pytest.mark.skipif(BACKEND != "tensorflow", reason="symbolic batch is tf's")
def test_one_tensorflow_trace_serves_every_batch_size():
    import tensorflow as tf

    step = KerasStep()
    sampler = generation.BeamSampler(beam_width=3, return_all_beams=True)

    def run(hidden):
        return sampler(step, {"hidden": hidden}, **CALL_OPTIONS)

    # The symbolic batch dimension is what matters here; XLA would only
    # compile each concrete shape again.
    compiled = tf.function(
        run, input_signature=[tf.TensorSpec((None, UNITS), "float32")]
    )
    hidden = np.random.default_rng(1).normal(size=(3, UNITS))
    hidden = hidden.astype("float32")
    for batch_size in (1, 3):
        outputs = numpy_outputs(compiled(hidden[:batch_size]))
        eager = numpy_outputs(run(hidden[:batch_size]))
        assert outputs["token_ids"].shape == (batch_size, 3, MAX_LENGTH)
        np.testing.assert_array_equal(outputs["token_ids"], eager["token_ids"])


CONTROLS = dict(
    min_length=2,
    no_repeat_ngram_size=2,
    repetition_penalty=1.3,
    bad_words_ids=[5, [6, 7]],
    bad_endings_ids=[4, 8],
)
CONTROLLED_SAMPLERS = {
    "greedy": generation.GreedySampler(**CONTROLS),
    "beam": generation.BeamSampler(3, return_all_beams=True, **CONTROLS),
    "diverse": generation.BeamSampler(
        4,
        num_beam_groups=2,
        diversity_penalty=0.7,
        return_all_beams=True,
        **CONTROLS,
    ),
    "sample": generation.RandomSampler(top_k=6, top_p=0.8, seed=2, **CONTROLS),
}


def test_the_decoding_controls_compile_and_match_eager():
    step = KerasStep()

    def generate_all(hidden):
        return {
            name: sampler(
                step, {"hidden": hidden}, force_end_token=True, **CALL_OPTIONS
            )
            for name, sampler in CONTROLLED_SAMPLERS.items()
        }

    hidden = np.random.default_rng(3).normal(size=(16, UNITS))
    hidden = hidden.astype("float32")
    compiled = _compiled_generation.compile_function(
        generate_all,
        variables=step.variables,
        updated_variables=[],
        jit_compile=True,
    )
    compiled = numpy_outputs(compiled(hidden))
    eager = numpy_outputs(generate_all(hidden))
    for name in CONTROLLED_SAMPLERS:
        # Seeded draws differ between XLA and eager tensorflow (another
        # random algorithm); the rules must hold on both.
        if name != "sample":
            np.testing.assert_array_equal(
                compiled[name]["token_ids"], eager[name]["token_ids"]
            )
            np.testing.assert_allclose(
                compiled[name]["scores"], eager[name]["scores"], rtol=1e-4
            )
        for rows in (compiled, eager):
            check_controls(rows[name]["token_ids"])


def check_controls(token_ids):
    """The rules `CONTROLS` sets, on every row of `token_ids`."""
    for row in token_ids.reshape(-1, MAX_LENGTH).tolist():
        words = [t for t in row if t not in (0, 2)]
        assert 5 not in words
        assert len(words) >= 2
        bigrams = list(zip(words, words[1:]))
        assert (6, 7) not in bigrams
        assert len(set(bigrams)) == len(bigrams)
        end = row.index(2)
        if end < MAX_LENGTH - 1:
            assert row[end - 1] not in (4, 8), row


def _op_types(concrete_function):
    graph_def = concrete_function.graph.as_graph_def()
    types = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        types |= {node.op for node in function.node_def}
    return types


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow graph ops")
def test_the_loop_uses_ops_that_litert_and_onnx_convert():
    import tensorflow as tf

    step = KerasStep()
    # `argmax` lowers to BitwiseAnd (no LiteRT built-in), `slice_update` to
    # XlaDynamicUpdateSlice (no tf2onnx handler).
    unconvertible = {"ArgMax", "BitwiseAnd", "XlaDynamicUpdateSlice"}
    for sampler in (
        generation.GreedySampler(),
        generation.BeamSampler(3, length_penalty=0.6, return_all_beams=True),
        generation.RandomSampler(top_k=4, seed=1),
        *CONTROLLED_SAMPLERS.values(),
    ):
        function = tf.function(
            lambda hidden, sampler=sampler: sampler(
                step, {"hidden": hidden}, force_end_token=True, **CALL_OPTIONS
            )
        )
        types = _op_types(
            function.get_concrete_function(tf.TensorSpec((2, UNITS)))
        )
        assert "While" in types or "StatelessWhile" in types
        assert not types & unconvertible, (sampler, types & unconvertible)
