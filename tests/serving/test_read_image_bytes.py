"""`read_image` on a binary file object, as the server reads uploads:
the pixels and the errors of the same file read by path."""

import io

import numpy as np
import pytest

from keras_captioning.data import ImageFileError
from keras_captioning.data import read_image
from tests.serving.test_bad_requests import png_claiming

pytestmark = pytest.mark.backend_independent


def test_bytes_give_the_pixels_of_the_file(image_files):
    for path in image_files[:2]:
        with open(path, "rb") as file:
            data = file.read()
        np.testing.assert_array_equal(
            read_image(io.BytesIO(data)), read_image(path)
        )
        np.testing.assert_array_equal(
            read_image(io.BytesIO(data), (8, 8)), read_image(path, (8, 8))
        )


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "the file is empty"),
        (b"not an image", "not an image format Pillow recognises"),
        (png_claiming(100_000, 100_000), "too many pixels"),
    ],
)
def test_errors_name_the_buffer(data, reason):
    buffer = io.BytesIO(data)
    buffer.name = "upload"
    with pytest.raises(ImageFileError, match=f"'upload': {reason}"):
        read_image(buffer)
    with pytest.raises(ImageFileError, match="'<file object>'"):
        read_image(io.BytesIO(data))


def test_other_objects_are_refused():
    with pytest.raises(TypeError, match="binary file object"):
        read_image(3)
