"""Checks and preparation shared by `make_dataset` and `CaptionPyDataset`.

Both pipelines accept the same inputs and produce the same rows; only the
machinery that decodes and batches differs. Everything that decides *what*
a row holds lives here, so the two cannot drift apart.
"""

import os

import numpy as np

from keras_captioning import _validation
from keras_captioning.text import CaptionTokenizer
from keras_captioning.text import standardize_caption

REFERENCE_MODES = ("all", "random")


class CaptionInputs:
    """Validated images and references, with every reference tokenized.

    Attributes:
        images: uint8 array `(n, height, width, 3)`, or `None` for files.
        paths: list of `n` absolute file paths, or `None` for an array.
        token_ids: int32 array `(num_references, max_length + 2)`: all
            references of image 0, then those of image 1, and so on.
        reference_image: int64 array `(num_references,)`, the image of each
            reference.
        first_reference: int64 array `(n,)`, the row of `token_ids` holding
            the first reference of each image.
        num_references: int64 array `(n,)`.
    """

    def __init__(self, images, paths, token_ids, num_references):
        self.images = images
        self.paths = paths
        self.token_ids = token_ids
        self.num_references = num_references
        self.first_reference = np.concatenate(
            [[0], np.cumsum(num_references)[:-1]]
        ).astype("int64")
        self.reference_image = np.repeat(
            np.arange(len(num_references)), num_references
        )

    @property
    def num_images(self):
        return len(self.num_references)

    def num_rows(self, reference_mode):
        if reference_mode == "all":
            return len(self.token_ids)
        return self.num_images

    def epoch_rows(self, reference_mode, shuffle, rng):
        """Rows of `token_ids` for one epoch, in the order they are served.

        In `"all"` mode every reference is one row; in `"random"` mode each
        image contributes one row, a reference drawn uniformly from its own.
        """
        if reference_mode == "all":
            rows = np.arange(len(self.token_ids))
        else:
            offsets = rng.integers(0, self.num_references)
            rows = self.first_reference + offsets
        if shuffle:
            rows = rng.permutation(rows)
        return rows


def prepare_caption_inputs(images, references, tokenizer):
    """Checks the inputs and tokenizes every reference once."""
    if not isinstance(tokenizer, CaptionTokenizer):
        raise TypeError(
            "`tokenizer` must be a `keras_captioning.text.CaptionTokenizer`. "
            f"Received: tokenizer={tokenizer!r} of type "
            f"{type(tokenizer).__name__}"
        )
    array, paths = check_images(images)
    num_images = len(array) if array is not None else len(paths)
    flat, num_references = check_references(references, num_images)
    try:
        token_ids = tokenizer.tokenize(flat)
    except ValueError:
        # The tokenizer names an index into the flat list; name the image
        # and reference instead. Searched only on failure, as it costs a
        # second standardisation of every caption.
        _raise_for_empty_reference(references)
        raise
    return CaptionInputs(array, paths, token_ids, num_references)


def _raise_for_empty_reference(references):
    for index, captions in enumerate(references):
        for position, caption in enumerate(captions):
            if not standardize_caption(caption):
                raise ValueError(
                    "A reference caption is empty after standardisation "
                    "(lower-casing and removing punctuation). Received: "
                    f"references[{index}][{position}]={caption!r}"
                ) from None


def check_images(images):
    """Returns `(array, None)` or `(None, absolute_paths)`."""
    if isinstance(images, np.ndarray) and images.dtype.kind in "UO":
        # An array of paths, as a pandas column's `.to_numpy()` gives.
        images = images.tolist() if images.ndim == 1 else images
    if isinstance(images, np.ndarray):
        if images.dtype != np.uint8:
            raise TypeError(
                "An `images` array must have dtype uint8 (pixel values 0 to "
                f"255). Received dtype {images.dtype}. Convert it with "
                "`np.clip(images, 0, 255).astype('uint8')` if it holds "
                "pixel values."
            )
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(
                "An `images` array must have shape (n, height, width, 3). "
                f"Received shape {images.shape}"
            )
        if len(images) == 0:
            raise ValueError("`images` holds no image (shape[0] is 0).")
        return images, None
    if isinstance(images, (str, bytes, os.PathLike)) or not isinstance(
        images, (list, tuple)
    ):
        raise TypeError(
            "`images` must be a uint8 NumPy array of shape (n, height, "
            "width, 3) or a list of image file paths. Received: "
            f"images={_short_repr(images)} of type {type(images).__name__}"
        )
    if not images:
        raise ValueError("`images` holds no image (an empty list).")
    paths = []
    for index, path in enumerate(images):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                "Every image path must be a str or `os.PathLike`. Received: "
                f"images[{index}]={path!r} of type {type(path).__name__}"
            )
        paths.append(os.path.abspath(os.fspath(path)))
    missing = [path for path in paths if not os.path.isfile(path)]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of the {len(paths)} image files do not exist, "
            f"for example: {missing[:3]}"
        )
    return None, paths


def check_references(references, num_images):
    """Returns every caption in one flat list and the count per image."""
    _validation.check_references(references, num_images)
    flat = [caption for captions in references for caption in captions]
    return flat, np.array([len(captions) for captions in references], "int64")


def check_options(batch_size, image_size, reference_mode, shuffle, seed):
    """Checks the arguments both pipelines share; returns `image_size`."""
    check_batch_size(batch_size)
    if reference_mode not in REFERENCE_MODES:
        raise ValueError(
            f"`reference_mode` must be one of {REFERENCE_MODES}. "
            f"Received: reference_mode={reference_mode!r}"
        )
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(
            f"`shuffle` must be a bool. Received: shuffle={shuffle!r}"
        )
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
    ):
        raise TypeError(
            f"`seed` must be an int or None. Received: seed={seed!r}"
        )
    if seed is not None and seed < 0:
        raise ValueError(f"`seed` must be non-negative. Received: seed={seed}")
    return check_image_size(image_size)


def check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(
        batch_size, (int, np.integer)
    ):
        raise TypeError(
            f"`batch_size` must be an int. Received: batch_size={batch_size!r}"
        )
    if batch_size < 1:
        raise ValueError(
            "`batch_size` must be at least 1. "
            f"Received: batch_size={batch_size}"
        )


def check_image_size(image_size):
    """Returns `image_size` as a tuple of two ints, or `None`."""
    if image_size is None:
        return None
    if (
        not isinstance(image_size, (list, tuple))
        or len(image_size) != 2
        or not all(
            isinstance(side, (int, np.integer)) and not isinstance(side, bool)
            for side in image_size
        )
        or min(image_size) < 1
    ):
        raise ValueError(
            "`image_size` must be None or a (height, width) pair of positive "
            f"ints. Received: image_size={image_size!r}"
        )
    return (int(image_size[0]), int(image_size[1]))


def _short_repr(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
