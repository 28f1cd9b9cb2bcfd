import math

import hypothesis
import keras
import numpy as np
import pytest
from absl.testing import parameterized
from hypothesis import strategies as st

from keras_captioning.layers import FeatureToSequence
from tests.keras_test_case import TestCase

POSITION_ENCODINGS = ("none", "learned", "learned_random_start", "coordinates")


class FeatureToSequenceLayerTest(TestCase):
    @parameterized.named_parameters(
        # name, keyword arguments, input shape, output shape, weights
        (
            "feature_map",
            {"units": 8, "activation": "relu", "dropout": 0.1,
             "position_embedding": True},
            (2, 3, 4, 5), (2, 12, 8), 4,
        ),
        (
            "coordinate_channels",
            {"units": 8, "position_encoding": "coordinates"},
            (2, 3, 4, 5), (2, 12, 8), 2,
        ),
        (
            "coordinate_channels_without_projection",
            {"position_encoding": "coordinates"},
            (2, 3, 4, 5), (2, 12, 7), 0,
        ),
        # The default "learned" encoding adds its map's kernel and bias.
        ("pooled_vector", {"units": None}, (2, 6), (2, 1, 6), 2),
        (
            "sequence_with_pooling",
            {"units": 4, "pooling": "max"},
            (3, 7, 5), (3, 1, 4), 4,
        ),
    )  # fmt: skip
    def test_layer_harness(
        self, init_kwargs, input_shape, output_shape, num_weights
    ):
        self.run_layer_test(
            FeatureToSequence,
            init_kwargs=init_kwargs,
            input_shape=input_shape,
            expected_output_shape=output_shape,
            expected_num_trainable_weights=num_weights,
        )


@hypothesis.settings(deadline=None)
@hypothesis.given(
    batch=st.integers(1, 3),
    height=st.integers(1, 6),
    width=st.integers(1, 6),
    channels=st.integers(1, 9),
    rank=st.sampled_from([2, 3, 4]),
    units=st.one_of(st.none(), st.integers(1, 7)),
    pooling=st.sampled_from([None, "avg", "max"]),
    position_encoding=st.sampled_from(POSITION_ENCODINGS),
)
def test_output_shape_matches_compute_output_shape(
    batch, height, width, channels, rank, units, pooling, position_encoding
):
    shape = {
        2: (batch, channels),
        3: (batch, height, channels),
        4: (batch, height, width, channels),
    }[rank]
    layer = FeatureToSequence(
        units=units, pooling=pooling, position_encoding=position_encoding
    )
    outputs = layer(np.random.rand(*shape).astype("float32"))
    expected_steps = {2: 1, 3: height, 4: height * width}[rank]
    if pooling:
        expected_steps = 1
    coordinate_channels = 2 if position_encoding == "coordinates" else 0
    expected = (batch, expected_steps, units or channels + coordinate_channels)
    assert tuple(outputs.shape) == expected
    assert tuple(layer.compute_output_shape(shape)) == expected


def test_feature_map_positions_become_steps_in_row_major_order():
    features = np.arange(2 * 3 * 4 * 2, dtype="float32").reshape(2, 3, 4, 2)
    outputs = keras.ops.convert_to_numpy(FeatureToSequence()(features))
    np.testing.assert_array_equal(outputs, features.reshape(2, 12, 2))


def test_pooling_averages_or_maxes_over_positions():
    features = np.random.rand(2, 3, 3, 4).astype("float32")
    flat = features.reshape(2, 9, 4)
    average = FeatureToSequence(pooling="avg")(features)
    maximum = FeatureToSequence(pooling="max")(features)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(average),
        flat.mean(1, keepdims=True),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(maximum), flat.max(1, keepdims=True)
    )


@pytest.mark.parametrize("position_encoding", POSITION_ENCODINGS)
def test_dynamic_spatial_sizes_in_a_functional_model(position_encoding):
    inputs = keras.Input(shape=(None, None, 3))
    sequence = FeatureToSequence(units=5, position_encoding=position_encoding)(
        inputs
    )
    assert tuple(sequence.shape) == (None, None, 5)
    model = keras.Model(inputs, sequence)
    assert tuple(model(np.zeros((2, 3, 3, 3), "float32")).shape) == (2, 9, 5)
    assert tuple(model(np.zeros((1, 6, 2, 3), "float32")).shape) == (1, 12, 5)


def test_position_embedding_distinguishes_positions_and_is_size_free():
    layer = FeatureToSequence(units=4, position_embedding=True)
    small = keras.ops.convert_to_numpy(layer(np.zeros((1, 2, 2, 3), "float32")))
    large = keras.ops.convert_to_numpy(layer(np.zeros((1, 8, 8, 3), "float32")))
    # Equal features at different positions get different vectors.
    assert len({tuple(np.round(row, 5)) for row in small[0]}) == 4
    assert large.shape == (1, 64, 4)


@pytest.mark.parametrize(
    "position_encoding", ("learned", "learned_random_start", "coordinates")
)
def test_each_position_encoding_serves_any_map_size(position_encoding):
    layer = FeatureToSequence(units=4, position_encoding=position_encoding)
    layer.build((None, None, None, 3))
    if position_encoding == "learned":
        # Trained a little: its map no longer starts at zero.
        kernel = layer.weights[2]
        kernel.assign(np.random.rand(*kernel.shape))
    for height, width in ((1, 1), (2, 2), (7, 7), (13, 5), (40, 3)):
        outputs = keras.ops.convert_to_numpy(
            layer(np.zeros((1, height, width, 3), "float32"))
        )
        assert outputs.shape == (1, height * width, 4)
        if height * width > 1:
            # Equal features at different positions get different vectors.
            distinct = {tuple(np.round(row, 5)) for row in outputs[0]}
            assert len(distinct) == height * width


def test_coordinate_channels_are_the_normalised_row_and_column():
    layer = FeatureToSequence(position_encoding="coordinates")
    features = np.random.rand(2, 2, 4, 3).astype("float32")
    outputs = keras.ops.convert_to_numpy(layer(features))
    rows, columns = np.meshgrid(
        [-0.5, 0.5], [-0.75, -0.25, 0.25, 0.75], indexing="ij"
    )
    np.testing.assert_allclose(outputs[..., :3], features.reshape(2, 8, 3))
    for example in outputs:
        np.testing.assert_allclose(example[:, 3], rows.reshape(-1))
        np.testing.assert_allclose(example[:, 4], columns.reshape(-1))


def test_coordinate_channels_of_a_sequence_and_a_pooled_vector():
    layer = FeatureToSequence(position_encoding="coordinates")
    sequence = keras.ops.convert_to_numpy(layer(np.zeros((1, 4, 2), "float32")))
    np.testing.assert_allclose(sequence[0, :, 2], [-0.75, -0.25, 0.25, 0.75])
    np.testing.assert_allclose(sequence[0, :, 3], 0.0)
    pooled = FeatureToSequence(position_encoding="coordinates")
    vector = keras.ops.convert_to_numpy(pooled(np.ones((3, 2), "float32")))
    np.testing.assert_allclose(vector, [[[1.0, 1.0, 0.0, 0.0]]] * 3)


@pytest.mark.parametrize("position_encoding", POSITION_ENCODINGS)
def test_config_round_trip_rebuilds_an_equal_layer(position_encoding):
    layer = FeatureToSequence(
        units=6,
        activation="tanh",
        dropout=0.2,
        pooling="avg",
        position_encoding=position_encoding,
        num_frequencies=3,
        name="f2s",
    )
    config = layer.get_config()
    assert config["position_encoding"] == position_encoding
    assert "position_embedding" not in config
    clone = FeatureToSequence.from_config(config)
    assert clone.get_config() == config


@pytest.mark.parametrize("position_encoding", POSITION_ENCODINGS)
def test_saved_file_loads_with_equal_outputs(position_encoding, tmp_path):
    inputs = keras.Input(shape=(None, None, 3))
    outputs = FeatureToSequence(
        units=4, activation="relu", position_encoding=position_encoding
    )(inputs)
    model = keras.Model(inputs, outputs)
    features = np.random.rand(2, 3, 5, 3).astype("float32")
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.layers[-1].position_encoding == position_encoding
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(features)),
        keras.ops.convert_to_numpy(model(features)),
        atol=1e-6,
    )


def test_learned_encoding_starts_as_none():
    features = np.random.rand(2, 3, 4, 5).astype("float32")
    learned = FeatureToSequence(units=4, position_encoding="learned")
    plain = FeatureToSequence(units=4, position_encoding="none")
    learned.build(features.shape)
    plain.build(features.shape)
    plain.set_weights(learned.get_weights()[:2])
    kernel, bias = [keras.ops.convert_to_numpy(w) for w in learned.weights[2:]]
    assert kernel.shape == (32, 4) and not kernel.any() and not bias.any()
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(learned(features)),
        keras.ops.convert_to_numpy(plain(features)),
    )


def test_the_default_position_encoding():
    assert FeatureToSequence().position_encoding == "learned"


@pytest.mark.parametrize(
    "position_embedding, position_encoding",
    [(False, "none"), (True, "learned_random_start")],
)
def test_old_configs_load_as_before(position_embedding, position_encoding):
    # The keys `get_config` wrote before `position_encoding` existed.
    old_config = {
        "name": "feature_to_sequence",
        "trainable": True,
        "dtype": "float32",
        "units": 4,
        "activation": "relu",
        "dropout": 0.0,
        "pooling": None,
        "position_embedding": position_embedding,
        "num_frequencies": 8,
    }
    layer = FeatureToSequence.from_config(old_config)
    assert layer.position_encoding == position_encoding
    assert (
        FeatureToSequence(
            **{**old_config, "position_encoding": position_encoding}
        ).get_config()
        == layer.get_config()
    )


def _old_learned_layer_outputs(layer, features):
    """The learned embedding as the layer computed it before (NumPy)."""
    kernel, bias, position_kernel, position_bias = [
        keras.ops.convert_to_numpy(w) for w in layer.weights
    ]
    batch, height, width, channels = features.shape
    rows = (np.arange(height) + 0.5) / height
    columns = (np.arange(width) + 0.5) / width
    coordinates = np.stack(
        [np.repeat(rows, width), np.tile(columns, height)], axis=-1
    )
    octaves = 2.0 ** np.arange(layer.num_frequencies) * math.pi
    angles = (coordinates[..., None] * octaves).reshape(height * width, -1)
    sinusoids = np.concatenate([np.sin(angles), np.cos(angles)], axis=-1)
    sequence = features.reshape(batch, height * width, channels)
    return np.maximum(
        sequence @ kernel + bias + sinusoids @ position_kernel + position_bias,
        0.0,
    )


def test_old_spelling_keeps_the_learned_embedding_and_its_weights():
    layer = FeatureToSequence(
        units=4, activation="relu", position_embedding=True
    )
    features = np.random.rand(2, 3, 5, 6).astype("float32")
    outputs = keras.ops.convert_to_numpy(layer(features))
    assert [w.path for w in layer.weights] == [
        "feature_to_sequence/projection/kernel",
        "feature_to_sequence/projection/bias",
        "feature_to_sequence/position_projection/kernel",
        "feature_to_sequence/position_projection/bias",
    ]
    # float32 sines of angles up to 2**7 * pi agree to about 1e-5.
    np.testing.assert_allclose(
        outputs, _old_learned_layer_outputs(layer, features), atol=1e-4
    )


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"units": 0}, ValueError, "units"),
        ({"units": 2.5}, TypeError, "units"),
        ({"dropout": 1.0}, ValueError, "dropout"),
        ({"dropout": -0.1}, ValueError, "dropout"),
        ({"pooling": "sum"}, ValueError, "pooling"),
        ({"num_frequencies": 0}, ValueError, "num_frequencies"),
        (
            {"position_encoding": "sine"},
            ValueError,
            r"`position_encoding` must be one of \('none', 'learned', "
            r"'learned_random_start', 'coordinates'\)\. Received: "
            r"position_encoding='sine'",
        ),
        ({"position_encoding": True}, ValueError, "position_encoding=True"),
        (
            {"position_embedding": True, "position_encoding": "learned"},
            ValueError,
            "give one of them.*position_encoding='learned', "
            "position_embedding=True",
        ),
        (
            {"position_embedding": False, "position_encoding": "coordinates"},
            ValueError,
            "position_embedding",
        ),
    ],
)
def test_invalid_arguments_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        FeatureToSequence(**kwargs)


def test_position_embedding_must_be_a_bool():
    with pytest.raises(TypeError, match="position_embedding"):
        FeatureToSequence(position_embedding="yes")


def test_both_spellings_may_agree():
    layer = FeatureToSequence(
        position_embedding=True, position_encoding="learned_random_start"
    )
    assert layer.position_encoding == "learned_random_start"


def test_wrong_rank_is_a_clear_error():
    with pytest.raises(
        ValueError, match=r"features.*\(batch, channels\).*\(batch, height"
    ):
        FeatureToSequence()(np.zeros((1, 2, 2, 2, 3), "float32"))


def test_channel_count_different_from_the_built_one_is_a_clear_error():
    layer = FeatureToSequence(units=3)
    layer(np.zeros((1, 2, 2, 8), "float32"))
    with pytest.raises(ValueError, match="expected 8, received 4"):
        layer(np.zeros((1, 2, 2, 4), "float32"))
