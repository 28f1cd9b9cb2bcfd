import hypothesis
import keras
import numpy as np
import pytest
from hypothesis import strategies as st

from keras_captioning.layers import FeatureToSequence
from tests.keras_test_case import TestCase


class FeatureToSequenceLayerTest(TestCase):
    def test_layer_harness_on_a_feature_map(self):
        self.run_layer_test(
            FeatureToSequence,
            init_kwargs={
                "units": 8,
                "activation": "relu",
                "dropout": 0.1,
                "position_embedding": True,
            },
            input_shape=(2, 3, 4, 5),
            expected_output_shape=(2, 12, 8),
            expected_num_trainable_weights=4,
        )

    def test_layer_harness_on_a_pooled_vector(self):
        self.run_layer_test(
            FeatureToSequence,
            init_kwargs={"units": None},
            input_shape=(2, 6),
            expected_output_shape=(2, 1, 6),
            expected_num_trainable_weights=0,
        )

    def test_layer_harness_on_a_sequence_with_pooling(self):
        self.run_layer_test(
            FeatureToSequence,
            init_kwargs={"units": 4, "pooling": "max"},
            input_shape=(3, 7, 5),
            expected_output_shape=(3, 1, 4),
            expected_num_trainable_weights=2,
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
    position_embedding=st.booleans(),
)
def test_output_shape_matches_compute_output_shape(
    batch, height, width, channels, rank, units, pooling, position_embedding
):
    shape = {
        2: (batch, channels),
        3: (batch, height, channels),
        4: (batch, height, width, channels),
    }[rank]
    layer = FeatureToSequence(
        units=units, pooling=pooling, position_embedding=position_embedding
    )
    outputs = layer(np.random.rand(*shape).astype("float32"))
    expected_steps = {2: 1, 3: height, 4: height * width}[rank]
    if pooling:
        expected_steps = 1
    expected = (batch, expected_steps, units or channels)
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


def test_dynamic_spatial_sizes_in_a_functional_model():
    inputs = keras.Input(shape=(None, None, 3))
    sequence = FeatureToSequence(units=5, position_embedding=True)(inputs)
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


def test_config_round_trip_rebuilds_an_equal_layer():
    layer = FeatureToSequence(
        units=6,
        activation="tanh",
        dropout=0.2,
        pooling="avg",
        position_embedding=True,
        num_frequencies=3,
        name="f2s",
    )
    clone = FeatureToSequence.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"units": 0}, ValueError, "units"),
        ({"units": 2.5}, TypeError, "units"),
        ({"dropout": 1.0}, ValueError, "dropout"),
        ({"dropout": -0.1}, ValueError, "dropout"),
        ({"pooling": "sum"}, ValueError, "pooling"),
        ({"num_frequencies": 0}, ValueError, "num_frequencies"),
    ],
)
def test_invalid_arguments_name_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        FeatureToSequence(**kwargs)


def test_position_embedding_must_be_a_bool():
    with pytest.raises(TypeError, match="position_embedding"):
        FeatureToSequence(position_embedding="yes")


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
