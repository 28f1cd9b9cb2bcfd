import keras
import numpy as np
import pytest

from keras_captioning.layers import ImagePreprocessing
from tests.keras_test_case import TestCase


class ImagePreprocessingLayerTest(TestCase):
    def test_layer_harness(self):
        self.run_layer_test(
            ImagePreprocessing,
            init_kwargs={"image_size": (4, 6), "scaling": "symmetric"},
            input_shape=(2, 8, 8, 3),
            expected_output_shape=(2, 4, 6, 3),
            run_training_check=False,
        )


@pytest.mark.parametrize(
    "scaling, expected",
    [
        ("unit", [1.0, 0.0, 0.5]),
        ("symmetric", [1.0, -1.0, 0.0]),
        ("none", [255.0, 0.0, 127.5]),
        ("caffe", [127.5 - 103.939, -116.779, 255.0 - 123.68]),
    ],
)
def test_scaling_modes(scaling, expected):
    pixel = np.array([255.0, 0.0, 127.5], "float32")
    images = np.broadcast_to(pixel, (1, 2, 2, 3))
    outputs = keras.ops.convert_to_numpy(
        ImagePreprocessing(scaling=scaling)(images)
    )
    np.testing.assert_allclose(outputs[0, 0, 0], expected, rtol=1e-5)


def test_uint8_images_are_cast_and_resized():
    images = np.full((3, 20, 10, 3), 255, "uint8")
    outputs = ImagePreprocessing(image_size=(8, 8))(images)
    assert tuple(outputs.shape) == (3, 8, 8, 3)
    assert keras.backend.standardize_dtype(outputs.dtype) == "float32"


def test_invalid_arguments_and_images():
    with pytest.raises(ValueError, match="image_size"):
        ImagePreprocessing(image_size=(0, 4))
    with pytest.raises(ValueError, match="scaling"):
        ImagePreprocessing(scaling="imagenet")
    with pytest.raises(ValueError, match="height, width, 3"):
        ImagePreprocessing()(np.zeros((1, 4, 4, 1), "uint8"))
