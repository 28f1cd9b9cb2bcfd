import os

import numpy as np
from PIL import ExifTags
from PIL import Image
from PIL import ImageOps
from PIL import JpegImagePlugin
from PIL import UnidentifiedImageError

from keras_captioning._validation import check_bool
from keras_captioning._validation import check_int

# Modes whose pixels carry an alpha channel of their own; other modes may
# carry one colour marked transparent in `image.info["transparency"]`.
_ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")
_INT32_MAX = 2**31 - 1
# EXIF orientations that swap width and height (a quarter turn, with or
# without a mirror).
_QUARTER_TURNS = (5, 6, 7, 8)
# The process-wide setting of `set_full_size_decode`, kept in the
# environment so that worker processes (forked or spawned) inherit it.
FULL_SIZE_DECODE_VARIABLE = "KERAS_CAPTIONING_FULL_SIZE_DECODE"


class ImageFileError(ValueError):
    """An image file that cannot be read: missing, empty, truncated, or not
    an image.

    Raised by `keras_captioning.data.read_image`, and so by every pipeline
    that reads files (`make_dataset`, `CaptionPyDataset`, `cache_features`).
    Its message is one line naming the file and the reason. It subclasses
    `ValueError`, so `except ValueError` catches it too.

    Example:

    >>> import keras_captioning
    >>> try:
    ...     keras_captioning.data.read_image("no-such-photo.jpg")
    ... except keras_captioning.data.ImageFileError as error:
    ...     print(error)
    Cannot read the image file 'no-such-photo.jpg': no such file.
    """


def read_image(path, image_size=None, full_size_decode=None):
    """Reads an image file into RGB pixels, whatever the file's mode.

    This is the one reader of image files in keras_captioning: the data
    pipelines (`make_dataset`, `CaptionPyDataset`, `cache_features`) all
    read through it, so they give identical pixels for the same file. The
    file is decoded by Pillow (its first frame for an animation), its EXIF
    orientation is applied, and its pixels become uint8 RGB by these rules:

    - 1-bit, grey (`L`), palette (`P`), `RGB`, `CMYK` (Pillow's
      conversion, without colour profiles), `YCbCr`: converted to RGB; grey
      values are repeated over the three channels.
    - Transparency (an alpha channel, as in `LA`, `RGBA`, `PA`, or a
      transparent palette entry or colour): composited over white, so a
      transparent pixel is white, not the colour hidden under it.
    - 16-bit integers (`I;16` and its byte orders): divided by 257 and
      rounded, so 0 stays 0 and 65535 becomes 255.
    - 32-bit integers (`I`): the range 0 to 2**31 - 1 is scaled linearly
      to 0 to 255 and rounded; negative values become 0.
    - Floats (`F`): values within [0, 1] are scaled by 255; otherwise
      values within [0, 255] are taken as they are; otherwise the image's
      minimum to maximum is stretched to 0 to 255. Non-finite values count
      as 0. Results are rounded.

    With `image_size`, the picture is resized to it with Pillow's bilinear
    filter, which widens its support when shrinking (antialiasing). A JPEG
    is then decoded at the DCT scale (Pillow's `Image.draft`): libjpeg
    decodes it directly at 1/2, 1/4 or 1/8 of its size, the smallest of
    those that still leaves it at least `image_size` in both directions
    (after the EXIF orientation), and the resize starts from there. A
    640x480 photo read at 224x224 is decoded at 320x240: about 1.6 times
    faster, at a mean absolute difference of about 1 level in 255 to a
    full decode (a few tens of levels at sharp edges; the figures are in
    the data guide). Other formats, and JPEGs too small for 1/2, are
    decoded at full size.

    Args:
        path: str or path-like, the image file (JPEG, PNG, BMP, GIF, TIFF,
            WebP or anything else Pillow reads), or a binary file object
            opened on one (such as `io.BytesIO(data)` for bytes received
            over a network; the error then names its `name` attribute, or
            `'<file object>'`).
        image_size: `None` or `(height, width)`, the size to resize to.
            Defaults to `None`: the size of the file.
        full_size_decode: bool or `None`. `True` always decodes a JPEG at
            its full size before resizing: pixels identical to those of
            earlier releases, which always decoded at full size (to
            reproduce features cached, or scores measured, with them), and
            a little sharper. `None` takes the process-wide setting of
            `keras_captioning.data.set_full_size_decode` (off unless set).
            Defaults to `None`.

    Returns:
        NumPy uint8 array of shape `(height, width, 3)`: `image_size`, or
        the file's size after the EXIF orientation is applied.

    Raises:
        ImageFileError: the file is missing, empty, truncated, not an image
            or in a mode that cannot be converted. The message is one line
            naming the file and the reason.

    Example:

    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> import keras_captioning
    >>> with tempfile.TemporaryDirectory() as directory:
    ...     path = os.path.join(directory, "grey16.png")
    ...     Image.fromarray(np.full((2, 3), 65535, "uint16")).save(path)
    ...     pixels = keras_captioning.data.read_image(path)
    >>> pixels.shape, pixels.dtype, int(pixels.max())
    ((2, 3, 3), dtype('uint8'), 255)
    """
    if image_size is not None:
        image_size = _check_image_size(image_size)
    if full_size_decode is not None:
        check_bool("full_size_decode", full_size_decode)
    return np.array(read_rgb(path, image_size, full_size_decode), dtype="uint8")


def set_full_size_decode(enabled):
    """Sets whether the data pipelines decode every JPEG at its full size.

    By default a JPEG read at a smaller `image_size` is decoded at the DCT
    scale (see `keras_captioning.data.read_image`). `set_full_size_decode(
    True)` turns that off for `read_image`, `make_dataset`,
    `CaptionPyDataset`, `cache_features` and the command together, so they
    keep giving identical pixels to each other; worker processes started
    afterwards inherit the setting (it is kept in the environment variable
    `KERAS_CAPTIONING_FULL_SIZE_DECODE`, which may also be set before
    Python starts). Decode at full size to reproduce pixels, cached
    features or scores of an earlier release, which always did; the
    feature cache of `cache_features` tells the two apart.

    Args:
        enabled: bool.

    Example:

    >>> import keras_captioning
    >>> keras_captioning.data.set_full_size_decode(True)
    >>> keras_captioning.data.full_size_decode()
    True
    >>> keras_captioning.data.set_full_size_decode(False)
    """
    enabled = check_bool("enabled", enabled)
    os.environ[FULL_SIZE_DECODE_VARIABLE] = "1" if enabled else "0"


def full_size_decode():
    """Whether the data pipelines decode every JPEG at its full size.

    Returns the setting of `keras_captioning.data.set_full_size_decode`
    (`False` unless set).

    Example:

    >>> keras_captioning.data.full_size_decode()
    False
    """
    return _full_size_decode_setting()


def _full_size_decode_setting():
    value = os.environ.get(FULL_SIZE_DECODE_VARIABLE, "0").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def read_rgb(path, image_size=None, full_size_decode=None):
    """`read_image`, returning the RGB picture as a PIL image.

    For the pipelines, which turn it into an array themselves.
    """
    if hasattr(path, "read"):
        source, path = path, getattr(path, "name", None) or "<file object>"
    elif isinstance(path, (str, bytes, os.PathLike)):
        source = path = os.fsdecode(path)
    else:
        raise TypeError(
            "`path` must be a str, path-like or a binary file object. "
            f"Received: path={path!r} of type {type(path).__name__}"
        )
    if full_size_decode is None:
        full_size_decode = _full_size_decode_setting()
    try:
        with Image.open(source) as image:
            if image_size is not None and not full_size_decode:
                _draft(image, image_size)
            # Decoding happens here, so a damaged file fails inside the
            # `try` and the file is closed before the pixels are used.
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            rgb = _to_rgb(image)
        return rgb if image_size is None else resize_rgb(rgb, image_size)
    except FileNotFoundError:
        reason = "no such file"
    except IsADirectoryError:
        reason = "it is a directory, not a file"
    except UnidentifiedImageError:
        reason = (
            "the file is empty"
            if _is_empty(source)
            else "not an image format Pillow recognises"
        )
    except Image.DecompressionBombError as error:
        reason = f"too many pixels ({_one_line(error)})"
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        reason = _one_line(error) or type(error).__name__
    raise ImageFileError(
        f"Cannot read the image file {path!r}: {reason}."
    ) from None


def resize_rgb(image, image_size):
    """Resizes a PIL image to `(height, width)`, bilinear and antialiased.

    The one resize of every pipeline that reads files or resizes arrays.
    """
    height, width = image_size
    if image.size == (width, height):
        return image
    return image.resize((width, height), Image.Resampling.BILINEAR)


def _check_image_size(image_size):
    if not isinstance(image_size, (tuple, list)) or len(image_size) != 2:
        raise ValueError(
            "`image_size` must be None or a pair (height, width) of "
            f"positive integers. Received: image_size={image_size!r}"
        )
    return tuple(check_int("image_size", value) for value in image_size)


def _draft(image, image_size):
    """Asks a JPEG's decoder for the smallest DCT scale that still covers
    `image_size` once the EXIF orientation is applied; a no-op for other
    formats."""
    if not isinstance(image, JpegImagePlugin.JpegImageFile):
        return
    height, width = image_size
    orientation = image.getexif().get(ExifTags.Base.Orientation)
    if orientation in _QUARTER_TURNS:
        # The file stores the picture on its side.
        height, width = width, height
    # `draft` picks the largest of 1/8, 1/4, 1/2 that keeps the stored
    # picture at least (width, height); `None` keeps the file's mode.
    image.draft(None, (width, height))


def _is_empty(source):
    if isinstance(source, str):
        return os.path.getsize(source) == 0
    source.seek(0, os.SEEK_END)
    return source.tell() == 0


def _one_line(error):
    return " ".join(str(error).split()).rstrip(".")


def _to_rgb(image):
    """Converts a decoded PIL image to an RGB PIL image."""
    mode = image.mode
    if mode.startswith("I;16"):
        values = np.asarray(image).astype("uint32")
        return _grey_image((values + 128) // 257)
    if mode == "I":
        values = np.clip(np.asarray(image).astype("int64"), 0, None)
        return _grey_image((values * 255 + _INT32_MAX // 2) // _INT32_MAX)
    if mode == "F":
        return _grey_image(_float_to_levels(np.asarray(image, "float64")))
    if mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA")).astype("uint32")
        alpha = rgba[..., 3:]
        # Over white, in integers so every platform rounds alike.
        rgb = (rgba[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255
        return Image.fromarray(rgb.astype("uint8"))
    return image if mode == "RGB" else image.convert("RGB")


def _float_to_levels(values):
    values = np.where(np.isfinite(values), values, 0.0)
    low, high = float(values.min()), float(values.max())
    if low >= 0.0 and high <= 1.0:
        values = values * 255.0
    elif not (low >= 0.0 and high <= 255.0):
        span = high - low
        values = (values - low) * (255.0 / span) if span else values * 0.0
    return np.clip(np.round(values), 0, 255)


def _grey_image(levels):
    return Image.fromarray(levels.astype("uint8")).convert("RGB")
