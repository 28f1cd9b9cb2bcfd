import numpy as np
import pytest

from keras_captioning.models import SimpleCNN
from tests.keras_test_case import TestCase


class SimpleCNNLayerTest(TestCase):
    def test_layer_harness(self):
        self.run_layer_test(
            SimpleCNN,
            init_kwargs={"filters": (4, 8)},
            input_shape=(2, 16, 12, 3),
            expected_output_shape=(2, 4, 3, 8),
            expected_num_trainable_weights=12,
            expected_num_non_trainable_weights=8,
        )


def test_any_image_size_and_config_round_trip():
    cnn = SimpleCNN(filters=(4,))
    assert tuple(cnn(np.zeros((1, 10, 6, 3), "float32")).shape) == (1, 5, 3, 4)
    assert SimpleCNN.from_config(cnn.get_config()).filters == (4,)


@pytest.mark.parametrize("filters", [(), (8, 0), "32", (2.5,)])
def test_invalid_filters(filters):
    with pytest.raises(ValueError, match="filters"):
        SimpleCNN(filters=filters)
