"""What an `ImageCaptioner` reads and writes: images in, captions out."""

import os

import keras
import numpy as np
from PIL import Image

from keras_captioning import _validation
from keras_captioning.data import resize_image
from keras_captioning.data.read_image import read_rgb
from keras_captioning.text.caption_tokenizer import CaptionTokenizer

_PATH_TYPES = (str, bytes, os.PathLike)


@keras.saving.register_keras_serializable(package="keras_captioning")
class ImageCaptionerPreprocessor:
    """Turns what a user has into model inputs, and token ids into text.

    Every `ImageCaptioner` holds one as `captioner.preprocessor` (the
    KerasHub `task.preprocessor` convention). It owns the
    `CaptionTokenizer` (`tokenize`, `detokenize`, `vocabulary`) and the
    checks and resizing of images that `caption`, `generate`, `fit` and
    `evaluate` run once, at the boundary, before anything is compiled.

    Images may be given as:

    - a stacked array or tensor `(n, height, width, 3)`, `uint8` or floats
      in `[0, 255]`;
    - a list (or tuple) of images of any sizes, each an array
      `(height, width, 3)` or the path of an image file (`str` or
      `pathlib.Path`), mixed freely;
    - one file path, a batch of one.

    Files are read by `keras_captioning.data.read_image` (EXIF
    orientation, every Pillow mode to RGB). When `image_size` is known,
    each image is resized to it on its own, before images share a batch,
    with Pillow's bilinear filter (antialiased when shrinking): the resize
    the command-line tool and the data pipelines apply to files. So a file
    and the array of its pixels give the same input, and a 6000x4000 photo
    costs one resized copy, not a float batch of full-size photos.
    `image_size` is the one given to the captioner, else the size the model
    was built for (`build`); with neither, images are kept as they are and
    must share a size. Images already at the size are passed unchanged.

    With `image_features=True` (a captioner with `encoder=None`) the
    "images" are precomputed feature arrays: they are checked, never
    resized, and paths are refused.

    The object is plain Python and NumPy (it runs outside compiled
    functions), registered with Keras and JSON-serialisable through
    `get_config()`.

    Args:
        tokenizer: a `keras_captioning.text.CaptionTokenizer`.
        image_size: `None` or `(height, width)`, the size images are
            resized to. Defaults to `None`.
        image_features: bool. `True` when the model reads precomputed
            features instead of images. Defaults to `False`.

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> tokenizer = keras_captioning.text.CaptionTokenizer(
    ...     ["a", "red", "circle"], max_length=4
    ... )
    >>> preprocessor = keras_captioning.models.ImageCaptionerPreprocessor(
    ...     tokenizer, image_size=(32, 32)
    ... )
    >>> preprocessor.tokenize(["a red circle"]).tolist()
    [[1, 4, 5, 6, 2, 0]]
    >>> images = [np.zeros((40, 60, 3), "uint8"), np.zeros((9, 9, 3))]
    >>> preprocessor.preprocess_images(images).shape
    (2, 32, 32, 3)
    >>> preprocessor.detokenize([[4, 5, 6, 2, 0]])
    ['a red circle']
    >>> x, y, sample_weight = preprocessor(images, ["a red circle", "a"])
    >>> x["token_ids"].tolist(), y.tolist()
    ([[1, 4, 5, 6, 2], [1, 4, 2, 0, 0]], [[4, 5, 6, 2, 0], [4, 2, 0, 0, 0]])
    >>> sample_weight.tolist()[1]
    [1.0, 1.0, 0.0, 0.0, 0.0]
    """

    def __init__(self, tokenizer, image_size=None, image_features=False):
        if not isinstance(tokenizer, CaptionTokenizer):
            raise TypeError(
                "`tokenizer` must be a keras_captioning.text.CaptionTokenizer."
                f" Received: tokenizer={tokenizer!r}"
            )
        self.tokenizer = tokenizer
        self.image_size = _image_size(image_size)
        self.image_features = _validation.check_bool(
            "image_features", image_features
        )
        self._built_size = None
        self._features_rank = None

    # ------------------------------------------------------------- text

    @property
    def vocabulary(self):
        """The vocabulary, special tokens first."""
        return self.tokenizer.vocabulary

    @property
    def max_length(self):
        """Most words in a caption."""
        return self.tokenizer.max_length

    def tokenize(self, captions):
        """Captions to padded ids `(n, max_length + 2)`: start, words, end.

        Uses the same standardisation as generation (see
        `keras_captioning.text.CaptionTokenizer`); longer captions are cut
        to `max_length` words with a warning, unknown words become `<unk>`
        and are counted.
        """
        return self.tokenizer.tokenize(captions)

    def detokenize(self, token_ids):
        """Token ids `(n, length)` to strings, stopping at the end token."""
        return self.tokenizer.detokenize(token_ids)

    # ------------------------------------------------------ training data

    def __call__(self, images, captions, sample_weight=None):
        """Images and captions to the `(x, y, sample_weight)` of training.

        The KerasHub preprocessor contract, for every consumer: `fit`,
        `evaluate`, self-critical training and the data pipelines' batches
        all go through `teacher_forcing`, where the shift is written once.
        Images are checked and resized as for `generate`; `captions` are
        strings (tokenized here) or the token ids of `tokenize`.

        Returns:
            `x = {"images", "token_ids": ids[:, :-1]}`, `y = ids[:, 1:]`
            and `sample_weight`, 1.0 on real tokens and 0.0 on padding
            (the one given, when given).
        """
        images = self.preprocess_images(images)
        if _are_strings(captions):
            token_ids = self.tokenize(list(captions))
        else:
            token_ids = check_token_ids(captions)
        if len(images) != len(token_ids):
            raise ValueError(
                "`x` (images) and `y` (token ids) must hold the same number "
                f"of examples. Received {len(images)} images and "
                f"{len(token_ids)} captions."
            )
        return self.teacher_forcing(images, token_ids, sample_weight)

    def teacher_forcing(self, images, token_ids, sample_weight=None):
        """The shift of teacher forcing: `(x, y, sample_weight)` from whole
        captions, without checks; NumPy arrays or TensorFlow tensors (it
        runs inside `tf.data.Dataset.map`).

        The decoder reads each caption without its last token and predicts
        it without its first; the weights mask the padding of `y`.
        """
        x = {"images": images, "token_ids": token_ids[:, :-1]}
        y = token_ids[:, 1:]
        if sample_weight is None:
            sample_weight = _not_padding(y, self.tokenizer.pad_id)
        return x, y, sample_weight

    # ----------------------------------------------------------- images

    def build(self, images_shape):
        """Records the `(batch, ...)` images shape the model was built for.

        Without an `image_size` of its own, the preprocessor then resizes
        images to the height and width of that shape when both are known
        (as the command-line tool and the exported SavedModel do). With
        `image_features`, the rank of the features is checked against it.
        """
        images_shape = tuple(images_shape)
        self._features_rank = len(images_shape)
        if (
            not self.image_features
            and len(images_shape) == 4
            and None not in images_shape[1:3]
        ):
            self._built_size = (int(images_shape[1]), int(images_shape[2]))

    @property
    def target_size(self):
        """The `(height, width)` images are resized to, or `None`."""
        if self.image_features:
            return None
        return self.image_size or self._built_size

    def check_images(self, images, argument="images"):
        """Checks images once and returns them in a form to batch.

        Returns a NumPy array (a stacked input) or a list of arrays and
        paths (the items of a list), and raises a `ValueError` or
        `TypeError` naming `argument` for anything else. Files are not read
        here; `image_batches` reads each when its batch comes.
        """
        if isinstance(images, _PATH_TYPES):
            images = [images]
        if isinstance(images, (list, tuple)) and not self.image_features:
            return self._check_image_list(list(images), argument)
        images = _image_array(images, argument)
        if self.image_features:
            expected_rank = max(self._features_rank or images.ndim, 1)
            _validation.check_rank(
                argument,
                images.shape,
                expected_rank,
                f"(batch, ...) of rank {expected_rank}, the precomputed "
                "features the model was built for",
            )
            if not np.issubdtype(images.dtype, np.floating):
                raise TypeError(
                    f"`{argument}` must be float features with "
                    f"`encoder=None`. Received dtype {images.dtype}."
                )
        else:
            if images.ndim != 4 or images.shape[-1] != 3:
                raise ValueError(
                    f"`{argument}` must be images of shape (batch, height, "
                    "width, 3), a list of (height, width, 3) images of any "
                    f"sizes, or image file paths. Received an array of shape "
                    f"{images.shape}."
                )
            _check_pixel_dtype(images.dtype, argument)
        if images.shape[0] == 0:
            raise ValueError(
                f"`{argument}` is an empty batch. Pass at least one image."
            )
        return images

    def image_batches(self, images, batch_size):
        """Yields stacked, resized batches of at most `batch_size` images.

        `images` is what `check_images` returned. Each image is read (for a
        path) and resized just before its batch is stacked, so memory holds
        one batch at the target size, whatever the size of the originals.
        """
        for start in range(0, len(images), batch_size):
            yield self._stack(images[start : start + batch_size], start)

    def preprocess_images(self, images, argument="images"):
        """All images as one checked, resized array `(n, height, width, 3)`.

        For `fit` and `evaluate`, which hand Keras one array. See the class
        docstring for the accepted inputs.
        """
        images = self.check_images(images, argument)
        if isinstance(images, np.ndarray) and self._fits(images.shape[1:3]):
            return images
        return np.concatenate(list(self.image_batches(images, 256)))

    def resize_image(self, image):
        """Resizes one `(height, width, 3)` array to `target_size`.

        Pillow's bilinear filter, antialiased when shrinking, the resize the
        data pipelines and the command-line tool apply to files; `uint8`
        stays `uint8` and floats stay `float32`. Returned unchanged when
        there is no target size or it already has it.
        """
        size = self.target_size
        if size is None or tuple(image.shape[:2]) == size:
            return image
        if image.dtype == np.uint8:
            # The data pipelines' own resize, so files agree everywhere.
            return resize_image(np.ascontiguousarray(image), size)
        height, width = size
        channels = [
            Image.fromarray(
                np.ascontiguousarray(image[..., c], "float32")
            ).resize((width, height), Image.Resampling.BILINEAR)
            for c in range(image.shape[-1])
        ]
        return np.stack([np.asarray(c) for c in channels], axis=-1)

    def _fits(self, size):
        return self.target_size is None or tuple(size) == self.target_size

    def _check_image_list(self, images, argument):
        if not images:
            raise ValueError(
                f"`{argument}` is an empty list. Pass at least one image."
            )
        checked = []
        sizes = set()
        for index, image in enumerate(images):
            name = f"{argument}[{index}]"
            if isinstance(image, _PATH_TYPES):
                checked.append(os.fsdecode(image))
                continue
            image = _image_array(image, name)
            if image.ndim != 3 or image.shape[-1] != 3:
                raise ValueError(
                    f"`{name}` must be an image of shape (height, width, 3) "
                    "or an image file path. Received an array of shape "
                    f"{image.shape}."
                )
            _check_pixel_dtype(image.dtype, name)
            sizes.add(image.shape[:2])
            checked.append(image)
        if self.target_size is None and len(sizes) > 1:
            raise ValueError(
                f"`{argument}` holds images of different sizes "
                f"{sorted(sizes)[:3]}, and this model has no image size to "
                "resize them to. Build the captioner with `image_size=("
                "height, width)` or resize the images to one size."
            )
        return checked

    def _stack(self, images, offset):
        if isinstance(images, np.ndarray) and self._fits(images.shape[1:3]):
            return images
        arrays = []
        for image in images:
            if isinstance(image, str):
                image = np.asarray(read_rgb(image), "uint8")
            arrays.append(self.resize_image(image))
        if len({array.shape for array in arrays}) > 1:
            shapes = sorted({array.shape[:2] for array in arrays})
            raise ValueError(
                f"`images` {offset} to {offset + len(arrays) - 1} have "
                f"different sizes {shapes[:3]}, and this model has no image "
                "size to resize them to. Build the captioner with "
                "`image_size=(height, width)` or resize them to one size."
            )
        dtypes = {array.dtype for array in arrays}
        dtype = "uint8" if dtypes == {np.dtype("uint8")} else "float32"
        return np.stack([array.astype(dtype, copy=False) for array in arrays])

    # ----------------------------------------------------------- config

    def get_config(self):
        return {
            "tokenizer": keras.saving.serialize_keras_object(self.tokenizer),
            "image_size": list(self.image_size) if self.image_size else None,
            "image_features": self.image_features,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        tokenizer = config.pop("tokenizer")
        if isinstance(tokenizer, dict):  # as `get_config` writes it
            tokenizer = keras.saving.deserialize_keras_object(tokenizer)
        return cls(tokenizer, **config)

    def __repr__(self):
        return (
            f"ImageCaptionerPreprocessor(vocabulary_size="
            f"{self.tokenizer.vocabulary_size}, max_length={self.max_length},"
            f" image_size={self.target_size})"
        )


def check_token_ids(token_ids, argument="y"):
    """Token ids `(batch, length >= 2)` of integers, as `tokenize` gives."""
    token_ids = _validation.to_numpy(token_ids, argument)
    if token_ids.ndim != 2 or token_ids.shape[1] < 2:
        raise ValueError(
            f"`{argument}` must be token ids of shape (batch, length) with "
            "length >= 2 (start, words, end), as `tokenize` returns. "
            f"Received shape {token_ids.shape}."
        )
    if not np.issubdtype(token_ids.dtype, np.integer):
        raise TypeError(
            f"`{argument}` must hold integer token ids. Received dtype "
            f"{token_ids.dtype}. Use `captioner.tokenize(captions)`."
        )
    return token_ids


def _are_strings(captions):
    return (
        isinstance(captions, (list, tuple))
        and len(captions) > 0
        and all(isinstance(caption, str) for caption in captions)
    )


def _not_padding(token_ids, pad_id):
    if isinstance(token_ids, np.ndarray):
        return (token_ids != pad_id).astype("float32")
    # A tensor inside `tf.data.Dataset.map`, whatever the Keras backend.
    import tensorflow as tf

    return tf.cast(tf.not_equal(token_ids, pad_id), "float32")


def _image_size(image_size):
    if image_size is None:
        return None
    if not isinstance(image_size, (tuple, list)) or len(image_size) != 2:
        raise ValueError(
            "`image_size` must be None or a pair of positive integers "
            f"(height, width). Received: image_size={image_size!r}"
        )
    return tuple(_validation.check_int("image_size", n) for n in image_size)


def _image_array(values, argument):
    expected = "an array, a tensor, a list of images or image file paths"
    values = _validation.to_numpy(values, argument, expected)
    if values.dtype == object:
        raise TypeError(
            f"`{argument}` must be {expected}. Received an object of type "
            f"{type(values).__name__}."
        )
    return values


def _check_pixel_dtype(dtype, argument):
    if not (dtype == np.uint8 or np.issubdtype(dtype, np.floating)):
        raise TypeError(
            f"`{argument}` must be uint8 or float pixel values in [0, 255]. "
            f"Received dtype {dtype}."
        )
