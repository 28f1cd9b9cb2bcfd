"""Finds the image files of a list that cannot be read, before training."""

import os

from PIL import Image

from keras_captioning.data._image_files import _decode_pool
from keras_captioning.data.read_image import ImageFileError
from keras_captioning.data.read_image import read_rgb


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
