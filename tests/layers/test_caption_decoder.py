import hypothesis
import keras
import numpy as np
import pytest
from hypothesis import strategies as st
from keras import ops

from keras_captioning.layers import CaptionDecoder
from keras_captioning.layers import FeatureToSequence
from keras_captioning.layers import conditioning
from keras_captioning.losses import CaptionCrossentropy
from keras_captioning.metrics import MaskedTokenAccuracy
from tests.keras_test_case import TestCase

VOCABULARY_SIZE = 23


@conditioning.register("gated_merge")
class GatedMerge(conditioning.Conditioning):
    """A user's mode: merge, with the image scaled by a gate on the words.

    Written from public Keras layers only, as a user outside the package
    would; registering it puts it in every property test below.
    """

    def configure(self, embedding_dim, units, num_layers, cell, dropout):
        super().configure(embedding_dim, units, num_layers, cell, dropout)
        rnn = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
        policy = self.dtype_policy
        self.rnns = [
            rnn(units, return_sequences=True, return_state=True, dtype=policy)
            for _ in range(num_layers)
        ]
        self.image_projection = keras.layers.Dense(units, dtype=policy)
        self.gate = keras.layers.Dense(1, "sigmoid", dtype=policy)

    @property
    def output_dim(self):
        return 2 * self.units

    def build(self, embeddings_shape, image_features_shape):
        for index, rnn in enumerate(self.rnns):
            input_dim = self.embedding_dim if index == 0 else self.units
            rnn.build((None, None, input_dim))
        self.image_projection.build((None, image_features_shape[-1]))
        self.gate.build((None, self.units))

    def _merge(self, outputs, image):
        return ops.concatenate([outputs, self.gate(outputs) * image], -1)

    def call(self, embeddings, image_features, mask=None, training=None):
        outputs = embeddings
        for rnn in self.rnns:
            outputs = rnn(outputs, mask=mask, training=training)[0]
        image = self.image_projection(ops.mean(image_features, axis=1))
        return self._merge(outputs, ops.expand_dims(image, 1)), None

    def get_initial_state(self, image_features):
        zeros = ops.zeros_like(self.image_projection(image_features[:, 0]))
        tensors_per_layer = 2 if self.cell == "lstm" else 1
        return {
            "layers": [[zeros] * tensors_per_layer for _ in self.rnns],
            "image": self.image_projection(ops.mean(image_features, axis=1)),
        }

    def call_with_cache(self, embeddings, state):
        outputs, layers = embeddings, []
        for rnn, layer_state in zip(self.rnns, state["layers"]):
            outputs, new_state = rnn.cell(outputs, layer_state)
            layers.append(list(new_state))
        new_state = {"layers": layers, "image": state["image"]}
        return self._merge(outputs, state["image"]), new_state, None


# Every registered mode, the one above included.
MODES = conditioning.names()


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


CELLS = ("lstm", "gru")


class CaptionDecoderLayerTest(TestCase):
    def run_harness(self, mode, cell):
        keras.utils.clear_session()
        self.run_layer_test(
            CaptionDecoder,
            init_kwargs={
                "vocabulary_size": VOCABULARY_SIZE,
                "embedding_dim": 4,
                "units": 6,
                "num_layers": 2,
                "cell": cell,
                "conditioning": mode,
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

    def test_layer_harness_in_every_mode(self):
        # Each mode once, the cells taking turns; the other pairs are large.
        for index, mode in enumerate(MODES):
            self.run_harness(mode, CELLS[index % 2])

    @pytest.mark.large
    def test_layer_harness_in_every_mode_with_the_other_cell(self):
        for index, mode in enumerate(MODES):
            self.run_harness(mode, CELLS[(index + 1) % 2])


@hypothesis.settings(deadline=None)
@hypothesis.given(
    batch=st.integers(1, 3),
    steps=st.integers(1, 6),
    image_steps=st.integers(1, 5),
    feature_dim=st.integers(1, 6),
    mode=st.sampled_from(MODES),
    cell=st.sampled_from(["lstm", "gru"]),
    num_layers=st.integers(1, 2),
)
def test_logits_have_one_row_per_token(
    batch, steps, image_steps, feature_dim, mode, cell, num_layers
):
    decoder = CaptionDecoder(
        VOCABULARY_SIZE,
        embedding_dim=3,
        units=4,
        num_layers=num_layers,
        cell=cell,
        conditioning=mode,
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
    mode=st.sampled_from(MODES),
    cell=st.sampled_from(["lstm", "gru"]),
    seed=st.integers(0, 1000),
)
def test_appended_padding_leaves_real_positions_unchanged(
    extra_padding, mode, cell, seed
):
    decoder = CaptionDecoder(
        VOCABULARY_SIZE,
        embedding_dim=4,
        units=5,
        num_layers=2,
        cell=cell,
        conditioning=mode,
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
    mode=st.sampled_from(MODES),
    cell=st.sampled_from(["lstm", "gru"]),
    num_layers=st.integers(1, 3),
    seed=st.integers(0, 1000),
)
def test_step_by_step_equals_teacher_forcing(mode, cell, num_layers, seed):
    decoder = CaptionDecoder(
        VOCABULARY_SIZE,
        embedding_dim=4,
        units=6,
        num_layers=num_layers,
        cell=cell,
        conditioning=mode,
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


@pytest.mark.parametrize("end_token_id", [2, None])
def test_output_mask_leaves_out_padding_and_the_end_token_input(end_token_id):
    decoder = CaptionDecoder(
        VOCABULARY_SIZE, embedding_dim=4, units=4, end_token_id=end_token_id
    )
    ids = np.array([[1, 5, 2, 0], [1, 2, 0, 0]])
    mask = decoder.compute_mask(keras.ops.convert_to_tensor(ids))
    expected = ids != 0 if end_token_id is None else (ids != 0) & (ids != 2)
    np.testing.assert_array_equal(_to_numpy(mask), expected)


def _captioning_model(mode):
    images = keras.Input(shape=(3, 4))
    token_ids = keras.Input(shape=(None,), dtype="int32")
    sequence = FeatureToSequence(units=6)(images)
    decoder = CaptionDecoder(
        VOCABULARY_SIZE,
        embedding_dim=4,
        units=5,
        conditioning=mode,
    )
    return keras.Model([images, token_ids], decoder(token_ids, sequence))


def _hand_computed_loss_and_accuracy(logits, targets):
    """Mean cross-entropy and accuracy over the real targets only."""
    real = targets != 0
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_probs, targets[..., None], -1)[..., 0]
    loss = -picked[real].mean()
    accuracy = (logits.argmax(-1) == targets)[real].mean()
    return loss, accuracy


@pytest.mark.parametrize("mode", ["init_inject", "attention"])
def test_stock_keras_loss_and_accuracy_count_exactly_the_real_targets(
    mode,
):
    # <start>=1, <end>=2, padding 0; rows of different lengths.
    ids = np.array(
        [[1, 5, 7, 9, 2, 0], [1, 9, 2, 0, 0, 0], [1, 4, 4, 6, 8, 2]], "int32"
    )
    inputs, targets = ids[:, :-1], ids[:, 1:]
    features = np.random.default_rng(0).random((3, 3, 4), "float32")
    model = _captioning_model(mode)
    model.compile(
        optimizer=keras.optimizers.Adam(0.05),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit([features, inputs], targets, epochs=3, verbose=0)
    logits = model.predict([features, inputs], verbose=0)
    loss, accuracy = _hand_computed_loss_and_accuracy(logits, targets)
    assert 0.0 < accuracy < 1.0  # one value that counting pads would move
    results = model.evaluate(
        [features, inputs], targets, verbose=0, return_dict=True
    )
    assert results["loss"] == pytest.approx(loss, rel=1e-5)
    assert results["accuracy"] == pytest.approx(accuracy, rel=1e-5)

    # The library's loss and metric agree with the stock ones.
    model.compile(loss=CaptionCrossentropy(), metrics=[MaskedTokenAccuracy()])
    results = model.evaluate(
        [features, inputs], targets, verbose=0, return_dict=True
    )
    assert results["loss"] == pytest.approx(loss, rel=1e-5)
    assert results["accuracy"] == pytest.approx(accuracy, rel=1e-5)


@pytest.mark.parametrize("mode", ["init_inject", "attention"])
def test_keras_loss_ignores_padded_positions(mode):
    token_ids = keras.Input(shape=(None,), dtype="int32")
    image = keras.Input(shape=(3, 4))
    decoder = CaptionDecoder(
        VOCABULARY_SIZE, embedding_dim=4, units=4, conditioning=mode
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
    assert clone.conditioning_layer.attention_units == 3
    assert clone.conditioning_layer.attention_gate is False


def test_a_mode_instance_is_accepted_and_saved_with_its_options(tmp_path):
    mode = conditioning.get("attention", attention_units=3)
    token_ids = keras.Input(shape=(None,), dtype="int32")
    features = keras.Input(shape=(4, 5))
    decoder = CaptionDecoder(
        VOCABULARY_SIZE, embedding_dim=4, units=5, conditioning=mode
    )
    assert decoder.conditioning_layer is mode
    model = keras.Model([token_ids, features], decoder(token_ids, features))
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    loaded_mode = loaded.layers[-1].conditioning_layer
    assert isinstance(loaded_mode, conditioning.Attention)
    assert loaded_mode.attention_units == 3
    inputs = [_captions(2, 4), np.random.rand(2, 4, 5).astype("float32")]
    np.testing.assert_allclose(
        _to_numpy(loaded(inputs)), _to_numpy(model(inputs)), atol=1e-6
    )


def test_registry_lists_the_built_in_modes_first():
    assert MODES[:5] == (
        "init_inject",
        "pre_inject",
        "par_inject",
        "merge",
        "attention",
    )
    assert "gated_merge" in MODES


# The public classes of the four classic modes (Tanti et al.'s names).
CLASSIC = {
    "init_inject": conditioning.InitInject,
    "pre_inject": conditioning.PreInject,
    "par_inject": conditioning.ParInject,
    "merge": conditioning.Merge,
}


@pytest.mark.parametrize("mode", sorted(CLASSIC))
def test_a_mode_name_and_its_class_give_the_same_decoder(mode):
    # The registry maps the name to the public class...
    assert type(conditioning.get(mode)) is CLASSIC[mode]
    # ... and an instance of the class passed as `conditioning=` builds a
    # decoder with the same weights and outputs as the name.
    inputs = [_captions(2, 4), np.random.rand(2, 3, 5).astype("float32")]
    options = {"vocabulary_size": VOCABULARY_SIZE, "embedding_dim": 4}
    by_name = CaptionDecoder(units=5, conditioning=mode, **options)
    by_class = CaptionDecoder(units=5, conditioning=CLASSIC[mode](), **options)
    assert isinstance(by_class.conditioning_layer, CLASSIC[mode])
    expected = _to_numpy(by_name(*inputs))
    by_class(*inputs)
    assert [w.shape for w in by_class.weights] == [
        w.shape for w in by_name.weights
    ]
    by_class.set_weights(by_name.get_weights())
    np.testing.assert_allclose(
        _to_numpy(by_class(*inputs)), expected, atol=1e-6
    )


@pytest.mark.parametrize("mode", MODES)
def test_functional_model_saves_and_loads_with_equal_outputs(mode, tmp_path):
    images = keras.Input(shape=(8, 8, 3))
    token_ids = keras.Input(shape=(None,), dtype="int32")
    features = keras.layers.Conv2D(4, 3, strides=2, padding="same")(images)
    sequence = FeatureToSequence(units=6, position_embedding=True)(features)
    logits = CaptionDecoder(
        VOCABULARY_SIZE, embedding_dim=4, units=5, conditioning=mode
    )(token_ids, sequence)
    model = keras.Model([images, token_ids], logits)
    path = tmp_path / "captioner.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    inputs = [np.random.rand(2, 8, 8, 3).astype("float32"), _captions(2, 5)]
    np.testing.assert_allclose(
        _to_numpy(loaded(inputs)), _to_numpy(model(inputs)), atol=1e-6
    )


# The README's mode by default; every mode with --run_large.
@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(
            mode, marks=() if mode == "init_inject" else pytest.mark.large
        )
        for mode in MODES
    ],
)
def test_cnn_and_decoder_train_together(mode):
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
        VOCABULARY_SIZE, embedding_dim=16, units=32, conditioning=mode
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
