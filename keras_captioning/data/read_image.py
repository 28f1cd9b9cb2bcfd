import os

import numpy as np
from PIL import Image
from PIL import ImageOps
from PIL import UnidentifiedImageError

# Modes whose pixels carry an alpha channel of their own; other modes may
# carry one colour marked transparent in `image.info["transparency"]`.
_ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")
_INT32_MAX = 2**31 - 1


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


def read_image(path):
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

    Args:
        path: str or path-like, the image file (JPEG, PNG, BMP, GIF, TIFF,
            WebP or anything else Pillow reads).

    Returns:
        NumPy uint8 array of shape `(height, width, 3)`, height and width
        after the EXIF orientation is applied.

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
    return np.array(read_rgb(path), dtype="uint8")


def read_rgb(path):
    """`read_image`, returning the RGB picture as a PIL image.

    For the pipelines, which resize it before turning it into an array.
    """
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(
            "`path` must be a str or path-like. "
            f"Received: path={path!r} of type {type(path).__name__}"
        )
    path = os.fsdecode(path)
    try:
        with Image.open(path) as image:
            # Decoding happens here, so a damaged file fails inside the
            # `try` and the file is closed before the pixels are used.
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
            return _to_rgb(image)
    except FileNotFoundError:
        reason = "no such file"
    except IsADirectoryError:
        reason = "it is a directory, not a file"
    except UnidentifiedImageError:
        reason = (
            "the file is empty"
            if os.path.getsize(path) == 0
            else "not an image format Pillow recognises"
        )
    except Image.DecompressionBombError as error:
        reason = f"too many pixels ({_one_line(error)})"
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        reason = _one_line(error) or type(error).__name__
    raise ImageFileError(
        f"Cannot read the image file {path!r}: {reason}."
    ) from None


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
