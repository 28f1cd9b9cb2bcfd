"""Image decoding and resizing with Pillow, for the NumPy pipelines.

`CaptionPyDataset` and `cache_features` read images here; `make_dataset`
does the same with TensorFlow ops. Both decode to 3-channel RGB (grey
images are repeated over the channels, an alpha channel is dropped, EXIF
orientation is not applied) and resize bilinearly with antialiasing, so
the two pipelines give images within a few intensity levels of each other.
"""

import numpy as np
from PIL import Image


def image_file_size(path):
    """Returns the `(height, width)` of an image file, reading its header."""
    with Image.open(path) as image:
        width, height = image.size
    return height, width


def load_image(path, image_size=None, expected_size=None):
    """Decodes an image file to a uint8 `(height, width, 3)` array.

    Args:
        path: str, the file.
        image_size: `(height, width)` to resize to, or `None`.
        expected_size: when `image_size` is `None`, the `(height, width)`
            every file must have, or `None` for no check.
    """
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
    except OSError as error:
        raise ValueError(
            f"Could not decode the image file {path!r}: {error}"
        ) from error
    if image_size is not None:
        return resize_image(image, image_size)
    array = np.asarray(image, dtype="uint8")
    if expected_size is not None and array.shape[:2] != tuple(expected_size):
        raise ValueError(
            f"All images must have the same size when `image_size` is None. "
            f"The image file {path!r} has (height, width) "
            f"{array.shape[:2]}, the first one {tuple(expected_size)}. Pass "
            "`image_size=(height, width)` to resize them."
        )
    return array


def resize_image(image, image_size):
    """Resizes a PIL image or a uint8 array to a uint8 array `image_size`."""
    if isinstance(image, np.ndarray):
        if image.shape[:2] == tuple(image_size):
            return image
        image = Image.fromarray(image)
    height, width = image_size
    if image.size != (width, height):
        # Pillow's bilinear filter widens its support when shrinking, which
        # is the antialiasing `tf.image.resize(..., antialias=True)` does.
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype="uint8")


def load_images(paths, image_size=None, expected_size=None):
    """Decodes a batch of files into one uint8 `(n, height, width, 3)`."""
    return np.stack(
        [load_image(path, image_size, expected_size) for path in paths]
    )


def resize_images(images, image_size):
    """Resizes a uint8 batch `(n, h, w, 3)`; a no-op when sizes match."""
    if image_size is None or images.shape[1:3] == tuple(image_size):
        return images
    return np.stack([resize_image(image, image_size) for image in images])
