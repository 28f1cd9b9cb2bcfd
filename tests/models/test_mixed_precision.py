"""`ImageCaptioner` under the `mixed_float16` and `mixed_bfloat16` policies.

A user sets the policy before building the model; then the model must
compute in the low precision, keep float32 weights and a float32 loss, train
(with loss scaling for float16), and generate valid token ids.

Every policy works on CPU on all three backends with this Keras; the
combinations skipped below are skipped for time, for the reasons given.
"""

import keras
import numpy as np
import pytest

import keras_captioning

BACKEND = keras.backend.backend()
POLICIES = ("mixed_float16", "mixed_bfloat16")
WORDS = ["a", "red", "blue", "green", "circle", "square", "big", "small"]
MAX_LENGTH = 4
EPOCHS = 6


def _skip_reason(jit_compile):
    if BACKEND == "torch" and jit_compile:
        return (
            "jit_compile=True on torch is torch.compile (dynamo and inductor), "
            "which took 170-250 s per policy to compile this train step on a "
            "2-core CPU; the eager torch path is tested"
        )
    if BACKEND == "jax" and not jit_compile:
        return (
            "jit_compile=False on jax dispatches every op on its own (about "
            "30 s of CPU for six steps here); jax's default 'auto' is jit, "
            "tested"
        )
    return None


# By default float16 on the path each backend takes by default on a CPU
# (Keras's "auto" is XLA on jax only: a traced graph on tensorflow, eager
# on torch); every other case with --run_large.
DEFAULT_CASE = ("mixed_float16", BACKEND == "jax")

CASES = [
    pytest.param(
        policy,
        jit_compile,
        id=f"{policy}-{'jit' if jit_compile else 'eager'}",
        marks=[
            pytest.mark.skipif(
                _skip_reason(jit_compile) is not None,
                reason=_skip_reason(jit_compile) or "",
            ),
            *(
                []
                if (policy, jit_compile) == DEFAULT_CASE
                else [pytest.mark.large]
            ),
        ],
    )
    for jit_compile in (True, False)
    for policy in POLICIES
]


@pytest.fixture
def policy(request):
    # Set before building, as a user does; the suite's conftest also resets
    # to float32 after every test.
    keras.config.set_dtype_policy(request.param)
    yield keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")


def make_captioner():
    return keras_captioning.models.ImageCaptioner(
        WORDS,
        # One block keeps compilation short; it still has convolution and
        # batch normalisation, the layers most sensitive to float16.
        encoder=keras_captioning.models.SimpleCNN(filters=(8,)),
        feature_to_sequence={"units": 8},
        decoder={"embedding_dim": 8, "units": 16},
        max_length=MAX_LENGTH,
    )


def make_data(captioner):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8, 8, 8, 3), dtype="uint8")
    captions = [" ".join(rng.choice(WORDS, 3)) for _ in range(8)]
    return images, captioner.tokenize(captions)


def dtype_name(tensor):
    return keras.backend.standardize_dtype(tensor.dtype)


@pytest.mark.parametrize("policy, jit_compile", CASES, indirect=["policy"])
def test_trains_and_generates(policy, jit_compile):
    captioner = make_captioner()
    images, token_ids = make_data(captioner)
    compute_dtype = policy.compute_dtype

    captioner.compile(jit_compile=jit_compile)
    assert captioner.jit_compile is jit_compile
    if policy.name == "mixed_float16":
        # Without loss scaling, small float16 gradients flush to zero.
        assert isinstance(
            captioner.optimizer, keras.optimizers.LossScaleOptimizer
        )
    history = captioner.fit(
        images, token_ids, batch_size=8, epochs=EPOCHS, verbose=0
    )
    losses = np.array(history.history["loss"])
    assert np.all(np.isfinite(losses)), losses
    assert losses[-1] < losses[0], losses

    assert {variable.dtype for variable in captioner.weights} == {"float32"}
    inputs = {"images": images, "token_ids": token_ids[:, :-1]}
    logits = captioner(inputs, training=False)
    assert dtype_name(logits) == compute_dtype
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(logits)))
    loss = captioner.compute_loss(
        x=inputs, y=token_ids[:, 1:], y_pred=logits, training=False
    )
    assert dtype_name(loss) == "float32"

    generated = captioner.generate(images, batch_size=8)
    tokenizer = captioner.tokenizer
    assert generated.dtype == np.int32
    assert generated.shape == (8, MAX_LENGTH + 1)
    assert generated.min() >= 0
    assert generated.max() < tokenizer.vocabulary_size
    for row in generated:
        ended = np.cumsum(row == tokenizer.end_id) > 0
        words = row[~ended]
        # Before the end token: only words, never a special token.
        special = [tokenizer.pad_id, tokenizer.start_id, tokenizer.unknown_id]
        assert not np.isin(words, special).any(), row
        # After it: only padding.
        after_end = row[np.argmax(ended) + 1 :] if ended.any() else row[:0]
        assert np.all(after_end == tokenizer.pad_id), row


@pytest.mark.parametrize("policy", POLICIES, indirect=True)
def test_every_sublayer_follows_the_policy(policy):
    captioner = make_captioner()
    captioner.build({"images": (None, 8, 8, 3), "token_ids": (None, None)})
    # `_flatten_layers` (private, Keras pinned by the test extra) reaches
    # the sub-layers each component creates for itself.
    compute_dtypes = {
        layer.path: layer.compute_dtype
        for layer in captioner._flatten_layers(include_self=False)
        if layer.weights
    }
    assert set(compute_dtypes.values()) == {policy.compute_dtype}, (
        compute_dtypes
    )
    assert {variable.dtype for variable in captioner.weights} == {"float32"}
