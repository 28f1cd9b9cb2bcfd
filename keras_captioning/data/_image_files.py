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
    """Resizes a uint8 `(height, width, 3)` array to `image_size`."""
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
        rgb = _resize(rgb, image_size)
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


def find_bad_images(image_paths, decode=False):
    """Finds the listed image files that are missing or not readable images.

    The check every command of `keras-captioning` runs before it trains or
    scores, and the one to run before a long `fit` on files: a listed file
    that is missing, empty, a directory or not an image (a `notes.txt`, an
    HTML error page saved as `.jpg`) would otherwise stop training when
    its batch comes, after hours. By default only the file's header is
    read and checked by Pillow (`Image.verify`), several files at once,
    which is many times faster than decoding every image; a file whose
    header is sound but whose pixel data is cut short passes that check
    and is found only with `decode=True`, which decodes each file fully
    with `keras_captioning.data.read_image`.

    Args:
        image_paths: list of str or path-like, the image files.
        decode: bool. Whether to decode every image fully rather than
            check its header. Defaults to `False`.

    Returns:
        Dict mapping each bad path (as given, once each, in list order) to
        the reason, e.g. `"no such file"`, `"the file is empty"`, `"not an
        image format Pillow recognises"`. Empty when every file is good.

    Example:

    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> import keras_captioning
    >>> folder = tempfile.mkdtemp()
    >>> Image.fromarray(np.zeros((4, 4, 3), "uint8")).save(
    ...     os.path.join(folder, "good.jpg"))
    >>> open(os.path.join(folder, "empty.jpg"), "wb").close()
    >>> with open(os.path.join(folder, "notes.txt"), "w") as file:
    ...     _ = file.write("photos from the trip")
    >>> bad = keras_captioning.data.find_bad_images(
    ...     [os.path.join(folder, name)
    ...      for name in ("good.jpg", "empty.jpg", "notes.txt", "gone.jpg")])
    >>> for path, reason in bad.items():
    ...     print(os.path.basename(path), "-", reason)
    empty.jpg - the file is empty
    notes.txt - not an image format Pillow recognises
    gone.jpg - no such file
    """
    if isinstance(image_paths, (str, bytes, os.PathLike)):
        raise TypeError(
            "`image_paths` must be a list of paths, not one path. Received: "
            f"image_paths={image_paths!r}"
        )
    if not isinstance(decode, bool):
        raise TypeError(
            f"`decode` must be True or False. Received: decode={decode!r}"
        )
    paths = list(image_paths)
    for path in paths:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                "`image_paths` must hold str or path-like paths. Received: "
                f"{path!r} of type {type(path).__name__}"
            )
    check = _decode_reason if decode else _header_reason
    unique = list(dict.fromkeys(paths))
    reasons = _decode_pool().map(check, unique)
    return {
        path: reason
        for path, reason in zip(unique, reasons)
        if reason is not None
    }


def _header_reason(path):
    """Why `path` is not a readable image by its header, or `None`."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return "it is a directory, not a file"
    if not os.path.isfile(path):
        return "no such file"
    if os.path.getsize(path) == 0:
        return "the file is empty"
    try:
        with Image.open(path) as image:
            image.verify()
    except Image.UnidentifiedImageError:
        return "not an image format Pillow recognises"
    except Image.DecompressionBombError as error:
        return f"too many pixels ({_one_line(error)})"
    except Exception as error:  # Pillow raises many kinds for bad data.
        return _one_line(error) or type(error).__name__
    return None


def _decode_reason(path):
    try:
        read_rgb(path)
    except ImageFileError as error:
        message = str(error)
        return (
            message.split(": ", 1)[1].rstrip(".")
            if ": " in message
            else (message)
        )
    return None


def _one_line(error):
    return " ".join(str(error).split()).rstrip(".")
