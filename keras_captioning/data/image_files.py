"""Image files read on demand, as an array of images."""

import numpy as np

from keras_captioning._validation import check_int
from keras_captioning.data.read_image import read_image


class ImageFiles:
    """Image files read on demand, as an array-like of uint8 images.

    What `keras_captioning.metrics.evaluate_captioner` slices batch by
    batch when it scores a split of image files (`keras-captioning
    evaluate`): `files[i]` reads one file with
    `keras_captioning.data.read_image` at `image_size`, and a slice reads
    its files into one array, so a split of thousands of photos is never
    held at once. A file that fails to decode (missing, or cut short after
    a sound header) does not stop the run: it is read as a black image and
    recorded in `failed`, so that its caption can be left out of the
    scores.

    Args:
        paths: list of str or path-like, the image files.
        image_size: `(height, width)`, the size every image is read at,
            or `None` for each file's own size (then a slice must hold
            images of one size, and a file that fails to decode is
            recorded in `failed` and its `ImageFileError` raised).

    Attributes:
        failed: dict mapping each path that failed to decode to the
            reason, in the order the failures happened.

    Raises:
        ValueError: if `image_size` is neither `None` nor two positive
            integers.
        TypeError: if a size is not an integer.

    Example:

    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> folder = tempfile.mkdtemp()
    >>> good = os.path.join(folder, "good.png")
    >>> Image.fromarray(np.full((8, 6, 3), 200, "uint8")).save(good)
    >>> files = keras_captioning.data.ImageFiles(
    ...     [good, os.path.join(folder, "gone.png")], (4, 4))
    >>> files[:].shape
    (2, 4, 4, 3)
    >>> [os.path.basename(path) for path in files.failed]
    ['gone.png']
    """

    def __init__(self, paths, image_size):
        if image_size is not None and (
            not isinstance(image_size, (tuple, list)) or len(image_size) != 2
        ):
            raise ValueError(
                "`image_size` must be None or a pair (height, width) of "
                f"positive integers. Received: image_size={image_size!r}"
            )
        self.paths = list(paths)
        self.image_size = image_size and tuple(
            check_int("image_size", size) for size in image_size
        )
        self.failed = {}

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return np.stack([self[i] for i in range(len(self))[index]])
        try:
            return read_image(self.paths[index], self.image_size)
        except ValueError as error:  # `ImageFileError` is a ValueError.
            self.failed[self.paths[index]] = str(error)
            if self.image_size is None:
                raise  # No size to read a black image at.
            return np.zeros((*self.image_size, 3), "uint8")
