import hypothesis
import keras
import numpy as np
import pytest
from hypothesis import strategies as st
from keras.src.testing import TestCase

from keras_captioning.layers import CaptionDecoder
from keras_captioning.layers import FeatureToSequence
from keras_captioning.layers.caption_decoder import CONDITIONING_MODES

VOCABULARY_SIZE = 23


def _captions(batch, steps, seed=0):
    """Start token, random words, end token, then padding, per row."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((batch, steps), "int32")
    for row in range(batch):
        length = rng.integers(1, steps + 1)
        ids[row, :length] = rng.integers(3, VOCABULARY_SIZE, length)
        ids[row, 0] = 1
    return ids


def _to_numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


class CaptionDecoderLayerTest(TestCase):
    def test_layer_harness_in_every_mode(self):
        for conditioning in CONDITIONING_MODES:
            for cell in ("lstm", "gru"):
                keras.utils.clear_session()
                self.run_layer_test(
                    CaptionDecoder,
                    init_kwargs={
                        "vocabulary_size": VOCABULARY_SIZE,
                        "embedding_dim": 4,
                        "units": 6,
                        "num_layers": 2,
                        "cell": cell,
                        "conditioning": conditioning,
                        "dropout": 0.1,
                    },
                    input_shape={
                        "token_ids_shape": (2, 5),
                        "image_features_shape": (2, 3, 7),
                    },
                    input_dtype={
                        "token_ids_shape": "int32",
                        "image_features_shape": "float32",
                    },
                    expected_output_shape=(2, 5, VOCABULARY_SIZE),
                    supports_masking=True,
                    run_training_check=False,
                )


@hypothesis.settings(deadline=None)
@hypothesis.given(
    batch=st.integers(1, 3),
    steps=st.integers(1, 6),
    image_steps=st.integers(1, 5),
    feature_dim=st.integers(1, 6),
    conditioning=st.sampled_from(CONDITIONING_MODES),
    cell=st.sampled_from(["lstm", "gru"]),
    num_layers=st.integers(1, 2),
)
def test_logits_have_one_row_per_token(
    batch, steps, image_steps, feature_dim, conditioning, cell, num_layers
):
    decoder = CaptionDecoder(
        VOCABULARY_SIZE,
        embedding_dim=3,
        units=4,
        num_layers=num_layers,
        cell=cell,
        conditioning=conditioning,
    )
    features = np.random.rand(batch, image_steps, feature_dim).astype("float32")
    logits = decoder(_captions(batch, steps), features)
    expected = (batch, steps, VOCABULARY_SIZE)
    assert tuple(logits.shape) == expected
    assert (
        tuple(
            decoder.compute_output_shape(
                (batch, steps), (batch, image_steps, feature_dim)
            )
        )
        == expected
    )


@hypothesis.settings(deadline=None)
@hypothesis.given(
    extra_padding=st.integers(1, 4),
    conditioning=st.sampled_from(CONDITIONING_MODES),
    cell=st.sampled_from(["lstm", "gru"]),
    seed=st.integers(0, 1000),
)
def test_appended_padding_leaves_real_positions_unchanged(
    extra_padding, conditioning, cell, seed
):
    decoder = CaptionDecoder(
        VOCABULARY_SIZE,
        embedding_dim=4,
        units=5,
        num_layers=2,
        cell=cell,
        conditioning=conditioning,
    )
    ids = _captions(3, 6, seed)
    features = np.random.default_rng(seed).random((3, 4, 5), "float32")
    padded = np.pad(ids, ((0, 0), (0, extra_padding)))
    short = _to_numpy(decoder(ids, features))
    long = _to_numpy(decoder(padded, features))
    real = ids != 0
    np.testing.assert_allclose(long[:, :6][real], short[real], atol=1e-5)


@hypothesis.settings(deadline=None)
@hypothesis.given(
    conditioning=st.sampled_from(CONDITIONING_MODES),
    cell=st.sampled_from(["lstm", "gru"]),
    num_layers=st.integers(1, 3),
    seed=st.integers(0, 1000),
)
def test_step_by_step_equals_teacher_forcing(
    conditioning, cell, num_layers, seed
):
    decoder = CaptionDecoder(
        VOCABULARY_SIZE,
        embedding_dim=4,
        units=6,
        num_layers=num_layers,
        cell=cell,
        conditioning=conditioning,
    )
    ids = _captions(3, 7, seed)
    features = np.random.default_rng(seed).random((3, 5, 8), "float32")
    teacher_forced = _to_numpy(decoder(ids, features))

    state = decoder.get_initial_state(features)
    stepped = []
    for position in range(ids.shape[1]):
        logits, state = decoder.step(ids[:, position], state)
        stepped.append(_to_numpy(logits))
    stepped = np.stack(stepped, axis=1)
    real = ids != 0
    np.testing.assert_allclose(stepped[real], teacher_forced[real], atol=1e-5)


def test_step_returns_the_attention_weights_of_the_teacher_forced_call():
    decoder = CaptionDecoder(
        VOCABULARY_SIZE, embedding_dim=4, units=6, conditioning="attention"
    )
    ids = _captions(2, 4)
    features = np.random.rand(2, 5, 3).astype("float32")
    _, weights = decoder(ids, features, return_attention_scores=True)
    weights = _to_numpy(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
    state = decoder.get_initial_state(features)
    _, _, first = decoder.step(ids[:, 0], state, return_attention_scores=True)
    np.testing.assert_allclose(_to_numpy(first), weights[:, 0], atol=1e-6)


def test_output_mask_marks_real_tokens():
    decoder = CaptionDecoder(VOCABULARY_SIZE, embedding_dim=4, units=4)
    ids = np.array([[1, 5, 2, 0], [1, 2, 0, 0]])
    mask = decoder.compute_mask(keras.ops.convert_to_tensor(ids))
    np.testing.assert_array_equal(_to_numpy(mask), ids != 0)


@pytest.mark.parametrize("conditioning", ["init_inject", "attention"])
def test_keras_loss_ignores_padded_positions(conditioning):
    token_ids = keras.Input(shape=(None,), dtype="int32")
    image = keras.Input(shape=(3, 4))
    decoder = CaptionDecoder(
        VOCABULARY_SIZE, embedding_dim=4, units=4, conditioning=conditioning
    )
    model = keras.Model([token_ids, image], decoder(token_ids, image))
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(True))
    ids = np.array([[1, 5, 7, 2, 0, 0], [1, 9, 2, 0, 0, 0]], "int32")
    features = np.random.rand(2, 3, 4).astype("float32")
    targets = np.roll(ids, -1, axis=1)
    noisy_targets = np.where(ids == 0, 17, targets)
    clean = model.evaluate([ids, features], targets, verbose=0)
    noisy = model.evaluate([ids, features], noisy_targets, verbose=0)
    assert clean == pytest.approx(noisy, rel=1e-6)


def test_attention_regularization_adds_a_loss():
    decoder = CaptionDecoder(
        VOCABULARY_SIZE,
        embedding_dim=4,
        units=4,
        conditioning="attention",
        attention_regularization=1.0,
    )
    decoder(_captions(2, 4), np.random.rand(2, 6, 3).astype("float32"))
    assert len(decoder.losses) == 1
    assert float(_to_numpy(decoder.losses[0])) > 0.0


def test_config_round_trip_rebuilds_an_equal_layer():
    decoder = CaptionDecoder(
        VOCABULARY_SIZE,
        embedding_dim=5,
        units=7,
        num_layers=2,
        cell="gru",
        conditioning="attention",
        dropout=0.25,
        attention_units=3,
        attention_gate=False,
        attention_regularization=0.5,
        name="decoder",
    )
    clone = CaptionDecoder.from_config(decoder.get_config())
    assert clone.get_config() == decoder.get_config()


@pytest.mark.parametrize("conditioning", CONDITIONING_MODES)
def test_functional_model_saves_and_loads_with_equal_outputs(
    conditioning, tmp_path
):
    images = keras.Input(shape=(8, 8, 3))
    token_ids = keras.Input(shape=(None,), dtype="int32")
    features = keras.layers.Conv2D(4, 3, strides=2, padding="same")(images)
    sequence = FeatureToSequence(units=6, position_embedding=True)(features)
    logits = CaptionDecoder(
        VOCABULARY_SIZE, embedding_dim=4, units=5, conditioning=conditioning
    )(token_ids, sequence)
    model = keras.Model([images, token_ids], logits)
    path = tmp_path / "captioner.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    inputs = [np.random.rand(2, 8, 8, 3).astype("float32"), _captions(2, 5)]
    np.testing.assert_allclose(
        _to_numpy(loaded(inputs)), _to_numpy(model(inputs)), atol=1e-6
    )


@pytest.mark.parametrize("conditioning", CONDITIONING_MODES)
def test_cnn_and_decoder_train_together(conditioning):
    rng = np.random.default_rng(0)
    # Four images told apart by their colour, each with its own caption.
    colours = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
    images = 0.2 * rng.random((4, 12, 12, 3)) + colours[:, None, None, :]
    images = images.astype("float32")
    ids = _captions(4, 6, seed=1)
    ids[:, -1] = 0
    # Repeating the data gives many steps per epoch and few epoch overheads.
    images, ids = np.tile(images, (16, 1, 1, 1)), np.tile(ids, (16, 1))
    inputs, targets = ids[:, :-1], ids[:, 1:]

    image_input = keras.Input(shape=(12, 12, 3))
    token_input = keras.Input(shape=(None,), dtype="int32")
    conv = keras.layers.Conv2D(8, 3, strides=2, activation="relu")
    sequence = FeatureToSequence(units=16)(conv(image_input))
    logits = CaptionDecoder(
        VOCABULARY_SIZE, embedding_dim=16, units=32, conditioning=conditioning
    )(token_input, sequence)
    model = keras.Model([image_input, token_input], logits)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    kernel_before = _to_numpy(conv.kernel).copy()
    history = model.fit(
        [images, inputs], targets, epochs=8, batch_size=4, verbose=0
    )
    losses = history.history["loss"]
    assert losses[-1] < 0.2 * losses[0]
    assert not np.allclose(_to_numpy(conv.kernel), kernel_before)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocabulary_size": 1}, "vocabulary_size"),
        ({"embedding_dim": 0}, "embedding_dim"),
        ({"units": -3}, "units"),
        ({"num_layers": 0}, "num_layers"),
        ({"attention_units": 0}, "attention_units"),
        ({"cell": "rnn"}, "cell"),
        ({"conditioning": "inject"}, "conditioning"),
        ({"dropout": 1.0}, "dropout"),
        ({"attention_regularization": -1.0}, "attention_regularization"),
    ],
)
def test_invalid_arguments_name_the_argument(kwargs, message):
    arguments = {"vocabulary_size": VOCABULARY_SIZE, **kwargs}
    with pytest.raises(ValueError, match=message):
        CaptionDecoder(**arguments)


def test_float_token_ids_are_a_type_error():
    decoder = CaptionDecoder(VOCABULARY_SIZE, embedding_dim=4, units=4)
    with pytest.raises(TypeError, match="token_ids"):
        decoder(np.ones((1, 3), "float32"), np.zeros((1, 2, 3), "float32"))


def test_token_ids_outside_the_vocabulary_are_a_value_error():
    decoder = CaptionDecoder(VOCABULARY_SIZE, embedding_dim=4, units=4)
    ids = np.array([[1, VOCABULARY_SIZE]])
    with pytest.raises(ValueError, match=r"\[0, 22\]"):
        decoder(ids, np.zeros((1, 2, 3), "float32"))


def test_image_features_of_the_wrong_rank_point_to_feature_to_sequence():
    decoder = CaptionDecoder(VOCABULARY_SIZE, embedding_dim=4, units=4)
    with pytest.raises(ValueError, match="FeatureToSequence"):
        decoder(_captions(1, 3), np.zeros((1, 2, 2, 3), "float32"))


def test_feature_size_different_from_the_built_one_is_a_clear_error():
    decoder = CaptionDecoder(VOCABULARY_SIZE, embedding_dim=4, units=4)
    decoder(_captions(1, 3), np.zeros((1, 2, 3), "float32"))
    with pytest.raises(ValueError, match="expected 3, received 5"):
        decoder(_captions(1, 3), np.zeros((1, 2, 5), "float32"))


def test_attention_scores_need_attention_mode():
    decoder = CaptionDecoder(VOCABULARY_SIZE, embedding_dim=4, units=4)
    with pytest.raises(ValueError, match="conditioning='attention'"):
        decoder(
            _captions(1, 3),
            np.zeros((1, 2, 3), "float32"),
            return_attention_scores=True,
        )


def test_step_with_an_incomplete_state_names_the_missing_entry():
    decoder = CaptionDecoder(VOCABULARY_SIZE, embedding_dim=4, units=4)
    decoder(_captions(1, 3), np.zeros((1, 2, 3), "float32"))
    with pytest.raises(ValueError, match="c_0"):
        decoder.step(np.array([1]), {"h_0": np.zeros((1, 4), "float32")})
