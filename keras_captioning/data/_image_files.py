"""Image files to uint8 batches, for every pipeline in this subpackage.

Files are read, and resized, by `read_rgb` (the PIL image `read_image`
turns into an array: a JPEG decoded at the DCT scale the size allows,
then Pillow's bilinear filter, which widens its support when shrinking);
arrays are resized by the same `resize_rgb`.
`CaptionPyDataset` and `cache_features` call these functions directly and
`make_dataset` calls them inside its `tf.data` map, so all three give
identical pixels for the same file.
"""

import concurrent.futures
import io
import os
import threading

import numpy as np
from PIL import Image
from PIL import ImageOps

from keras_captioning.data import read_image as read_image_module
from keras_captioning.data.read_image import ImageFileError
from keras_captioning.data.read_image import read_rgb
from keras_captioning.data.read_image import resize_rgb


def image_file_size(path):
    """Returns the `(height, width)` of an image file as `read_image` sees it.

    The file is decoded, so the size is the one after the EXIF orientation.
    """
    width, height = read_rgb(path).size
    return height, width


def load_image(path, image_size=None, expected_size=None):
    """Reads an image file into a uint8 `(height, width, 3)` array.

    Args:
        path: str, the file.
        image_size: `(height, width)` to resize to, or `None`.
        expected_size: when `image_size` is `None`, the `(height, width)`
            every file must have, or `None` for no check.
    """
    image = read_rgb(path, image_size)
    if image_size is not None:
        return np.asarray(image, dtype="uint8")
    size = (image.height, image.width)
    if expected_size is not None and size != tuple(expected_size):
        raise ValueError(
            f"All images must have the same size when `image_size` is None. "
            f"The image file {path!r} has (height, width) {size}, the first "
            f"one {tuple(expected_size)}. Pass `image_size=(height, width)` "
            "to resize them."
        )
    return np.asarray(image, dtype="uint8")


def resize_image(array, image_size):
    """Resizes a uint8 `(height, width, 3)` array to `image_size`.

    The resize of every data pipeline and of the command (Pillow's bilinear
    filter, antialiased when shrinking), so an array resized here gets the
    pixels its file gets through `read_image(path, image_size)`.

    Args:
        array: uint8 array `(height, width, 3)`.
        image_size: `(height, width)`.

    Returns:
        A uint8 array `(*image_size, 3)`; `array` itself when it already
        has that size.

    Example:

    >>> import numpy as np
    >>> image = np.zeros((480, 640, 3), "uint8")
    >>> keras_captioning.data.resize_image(image, (224, 224)).shape
    (224, 224, 3)
    """
    if array.shape[:2] == tuple(image_size):
        return array
    return np.asarray(resize_rgb(Image.fromarray(array), image_size), "uint8")


def load_encoded_image(image, image_size, where):
    """Reads an in-memory image as `load_image` reads a file.

    Args:
        image: a PIL image, a uint8 array (TFDS), encoded bytes, or a
            Hugging Face `Image(
            decode=False)` value `{"bytes": ..., "path": ...}` (a path only
            when the bytes are `None`).
        image_size: `(height, width)` to resize to, or `None`.
        where: what to call the image in an error, e.g. "row 3 of the
            dataset".
    """
    if isinstance(image, dict):
        if image.get("bytes") is None and image.get("path"):
            return load_image(image["path"], image_size)
        image = image.get("bytes")
    if isinstance(image, (bytes, bytearray, memoryview)):
        try:
            with Image.open(io.BytesIO(image)) as opened:
                # The JPEG DCT-scale decode of `read_rgb`, so bytes give the
                # pixels their file gives.
                if (
                    image_size is not None
                    and not read_image_module._full_size_decode_setting()
                ):
                    read_image_module._draft(opened, image_size)
                opened.load()
                ImageOps.exif_transpose(opened, in_place=True)
                rgb = read_image_module._to_rgb(opened)
        except Exception as error:  # Pillow raises many kinds.
            reason = " ".join(str(error).split()).rstrip(".")
            raise ImageFileError(
                f"Cannot read the image of {where}: {reason}."
            ) from None
    elif isinstance(image, np.ndarray) and image.dtype == np.uint8:
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        rgb = read_image_module._to_rgb(Image.fromarray(image))
    elif isinstance(image, Image.Image):
        rgb = read_image_module._to_rgb(ImageOps.exif_transpose(image) or image)
    else:
        raise ImageFileError(
            f"Cannot read the image of {where}: expected a PIL image or "
            f"encoded bytes. Received: {type(image).__name__}."
        )
    if image_size is not None:
        rgb = resize_rgb(rgb, image_size)
    return np.asarray(rgb, dtype="uint8")


def load_images(paths, image_size=None, expected_size=None):
    """Reads a batch of files into one uint8 `(n, height, width, 3)`.

    The files are read by a pool of one thread per CPU, shared by every
    caller in the process (Pillow releases the GIL while it decodes and
    resizes), so a batch loads on all cores even when the pipeline runs
    one batch at a time, and several callers at once do not oversubscribe
    the CPUs.
    """
    images = _decode_pool().map(
        lambda path: load_image(path, image_size, expected_size), paths
    )
    return np.stack(list(images))


_pool = None
_pool_pid = None
_pool_lock = threading.Lock()


def _decode_pool():
    global _pool, _pool_pid
    with _pool_lock:
        # A forked worker process (`use_multiprocessing=True`) inherits the
        # pool object but not its threads: it makes its own.
        if _pool is None or _pool_pid != os.getpid():
            _pool = concurrent.futures.ThreadPoolExecutor(
                os.cpu_count() or 1, thread_name_prefix="keras_captioning_read"
            )
            _pool_pid = os.getpid()
        return _pool


def resize_images(images, image_size):
    """Resizes a uint8 batch `(n, h, w, 3)`; a no-op when sizes match."""
    if image_size is None or images.shape[1:3] == tuple(image_size):
        return images
    return np.stack([resize_image(image, image_size) for image in images])
