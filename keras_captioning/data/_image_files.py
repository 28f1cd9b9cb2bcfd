"""Image files to uint8 batches, for every pipeline in this subpackage.

Files are read by `read_image` (Pillow) and resized here with Pillow's
bilinear filter, which widens its support when shrinking (antialiasing).
`CaptionPyDataset` and `cache_features` call these functions directly and
`make_dataset` calls them inside its `tf.data` map, so all three give
identical pixels for the same file.
"""

import numpy as np
from PIL import Image

from keras_captioning.data.read_image import read_image


def image_file_size(path):
    """Returns the `(height, width)` of an image file as `read_image` sees it.

    The file is decoded, so the size is the one after the EXIF orientation.
    """
    return read_image(path).shape[:2]


def load_image(path, image_size=None, expected_size=None):
    """Reads an image file into a uint8 `(height, width, 3)` array.

    Args:
        path: str, the file.
        image_size: `(height, width)` to resize to, or `None`.
        expected_size: when `image_size` is `None`, the `(height, width)`
            every file must have, or `None` for no check.
    """
    array = read_image(path)
    if image_size is not None:
        return resize_image(array, image_size)
    if expected_size is not None and array.shape[:2] != tuple(expected_size):
        raise ValueError(
            f"All images must have the same size when `image_size` is None. "
            f"The image file {path!r} has (height, width) "
            f"{array.shape[:2]}, the first one {tuple(expected_size)}. Pass "
            "`image_size=(height, width)` to resize them."
        )
    return array


def resize_image(array, image_size):
    """Resizes a uint8 `(height, width, 3)` array to `image_size`."""
    height, width = image_size
    if array.shape[:2] == (height, width):
        return array
    image = Image.fromarray(array).resize(
        (width, height), Image.Resampling.BILINEAR
    )
    return np.asarray(image, dtype="uint8")


def load_images(paths, image_size=None, expected_size=None):
    """Reads a batch of files into one uint8 `(n, height, width, 3)`."""
    return np.stack(
        [load_image(path, image_size, expected_size) for path in paths]
    )


def resize_images(images, image_size):
    """Resizes a uint8 batch `(n, h, w, 3)`; a no-op when sizes match."""
    if image_size is None or images.shape[1:3] == tuple(image_size):
        return images
    return np.stack([resize_image(image, image_size) for image in images])
