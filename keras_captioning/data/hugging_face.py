"""Hugging Face `datasets` (and TFDS splits) to batches, without files."""

import threading

import keras
import numpy as np

from keras_captioning import _validation
from keras_captioning.data._caption_inputs import CaptionInputs
from keras_captioning.data._caption_inputs import check_options
from keras_captioning.data._caption_inputs import prepare_caption_inputs
from keras_captioning.data._image_files import _decode_pool
from keras_captioning.data._image_files import load_encoded_image
from keras_captioning.data.row_batcher import RowBatcher
from keras_captioning.text import CaptionTokenizer

TARGETS = ("token_ids", "references")


class HuggingFaceCaptions(keras.utils.PyDataset):
    """Batches from a Hugging Face `datasets.Dataset` of images and captions.

    Trains `ImageCaptioner.fit` (`targets="token_ids"`: `(images,
    token_ids)` batches, as `CaptionPyDataset` yields) and
    `fit_self_critical` (`targets="references"`: `(images, references)`
    batches) on a dataset with an image column (a `datasets.Image()`
    feature, or encoded bytes) and a caption column (one string or a list
    of strings per row), straight from its Arrow files: no image is
    written to disk. `images` and `references` give the same rows to
    `keras_captioning.metrics.evaluate_captioner`.

    Images are taken from the dataset still encoded (the column is read
    as `datasets.Image(decode=False)`), decoded by a pool of one thread
    per CPU and turned into uint8 RGB and resized by the rules of
    `keras_captioning.data.read_image` and the file pipelines (every mode
    to RGB, EXIF orientation applied, Pillow's bilinear filter), so a
    dataset built from files gives the pixels `CaptionPyDataset` gives for
    those files. Rows are chosen, shuffled and seeded exactly as by
    `CaptionPyDataset` (`reference_mode`, `shuffle`, `seed`).

    A `datasets.IterableDataset` (`load_dataset(..., streaming=True)`) or
    a TFDS split (`tfds.load("coco_captions", split="train")`, whose
    `captions` feature is `{"text": [...]}`) is read as a stream, pass
    after pass, in its own order (shuffle it with its `shuffle` method):
    it has no length, so pass `steps_per_epoch` to `fit`; each image gives
    one row per caption.

    Needs the `datasets` package (`pip install keras-captioning[huggingface]`)
    for Hugging Face datasets, and `tensorflow-datasets` for TFDS (`[tfds]`),
    imported only when used.

    Args:
        dataset: `datasets.Dataset`, `datasets.IterableDataset` or a TFDS
            `tf.data.Dataset` of example dicts.
        tokenizer: `keras_captioning.text.CaptionTokenizer`. Needed for
            `targets="token_ids"`; may be `None` for `"references"`.
        image_column: str. Defaults to `"image"`.
        caption_column: str or `None`. `None` takes the first of
            `"caption"`, `"captions"`, `"text"`, `"sentences"`,
            `"sentence"` the dataset has. Defaults to `None`.
        batch_size: int. Rows per batch. Defaults to `32`.
        image_size: `(height, width)` to resize to, or `None` to keep the
            decoded size, which all images must then share. Defaults to
            `None`.
        targets: `"token_ids"` or `"references"`. Defaults to
            `"token_ids"`.
        reference_mode: `"all"` or `"random"`, as for `CaptionPyDataset`
            (with `targets="references"` every image is one row).
            Defaults to `"all"`.
        shuffle: bool. Defaults to `True`.
        seed: int or `None`. Defaults to `None`.
        workers, use_multiprocessing, max_queue_size: as for
            `keras.utils.PyDataset`.

    Example:

    >>> import numpy as np
    >>> import datasets
    >>> from PIL import Image
    >>> import keras_captioning
    >>> pictures = [Image.fromarray(np.full((6, 8, 3), v, "uint8"))
    ...             for v in (0, 255)]
    >>> dataset = datasets.Dataset.from_dict(
    ...     {"image": pictures, "text": ["a dog", "a cat"]}
    ... ).cast_column("image", datasets.Image())
    >>> tokenizer = keras_captioning.text.CaptionTokenizer(
    ...     ["a", "dog", "cat"], max_length=4)
    >>> batches = keras_captioning.data.HuggingFaceCaptions(
    ...     dataset, tokenizer, batch_size=2, image_size=(4, 4), seed=0)
    >>> images, token_ids = batches[0]
    >>> images.shape, images.dtype, token_ids.shape
    ((2, 4, 4, 3), dtype('uint8'), (2, 6))
    >>> batches.references
    [['a dog'], ['a cat']]
    """

    def __init__(
        self,
        dataset,
        tokenizer=None,
        image_column="image",
        caption_column=None,
        batch_size=32,
        image_size=None,
        targets="token_ids",
        reference_mode="all",
        shuffle=True,
        seed=None,
        workers=2,
        use_multiprocessing=False,
        max_queue_size=10,
    ):
        tf_data = _validation.is_tf_dataset(dataset)
        datasets = None if tf_data else _import_datasets()
        super().__init__(
            workers=workers,
            use_multiprocessing=use_multiprocessing,
            max_queue_size=max_queue_size,
        )
        if targets not in TARGETS:
            raise ValueError(
                f"`targets` must be one of {TARGETS}. Received: "
                f"targets={targets!r}"
            )
        if targets == "token_ids" and not isinstance(
            tokenizer, CaptionTokenizer
        ):
            raise TypeError(
                "`tokenizer` must be a `keras_captioning.text."
                "CaptionTokenizer` for targets='token_ids'. Received: "
                f"tokenizer={tokenizer!r}"
            )
        if not tf_data and not isinstance(
            dataset, (datasets.Dataset, datasets.IterableDataset)
        ):
            raise TypeError(
                "`dataset` must be a `datasets.Dataset`, a "
                "`datasets.IterableDataset` or a TFDS `tf.data.Dataset` of "
                f"examples. Received: dataset of type {type(dataset).__name__}"
            )
        image_size = check_options(
            batch_size, image_size, reference_mode, shuffle, seed
        )
        if tf_data:
            columns = list(getattr(dataset.element_spec, "keys", list)())
        else:
            columns = list(dataset.column_names or dataset.features or [])
        if image_column not in columns:
            raise ValueError(
                f"The dataset has no column {image_column!r}: its columns "
                f"are {columns}. Check `image_column`."
            )
        caption_column = _caption_column(columns, caption_column)
        self.tokenizer = tokenizer
        self.image_column = image_column
        self.caption_column = caption_column
        self.batch_size = int(batch_size)
        self.image_size = image_size
        self.targets = targets
        self.reference_mode = reference_mode
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.streaming = tf_data or isinstance(
            dataset, datasets.IterableDataset
        )
        if tf_data:
            self._encoded = dataset
        else:
            encoded = dataset
            if not self.streaming:
                # A batch then gathers only the image bytes from Arrow, not
                # the captions (read once below) or other columns.
                encoded = dataset.select_columns([image_column])
            self._encoded = encoded.cast_column(
                image_column, datasets.Image(decode=False)
            )
        self._expected_size = None
        if self.streaming:
            self._lock = threading.Lock()
            self._stream = None
            self._pending = []
            return
        self._references = [
            _captions(value, index, caption_column)
            for index, value in enumerate(dataset[caption_column])
        ]
        if targets == "token_ids":
            self._inputs = prepare_caption_inputs(
                np.zeros((len(self._references), 1, 1, 3), "uint8"),
                self._references,
                tokenizer,
            )
        else:
            counts = np.ones(len(self._references), "int64")
            self._inputs = CaptionInputs(
                None, None, np.zeros((len(counts), 0), "int32"), counts
            )
        self._batches = RowBatcher(self._draw_rows, batch_size, seed=seed)

    @property
    def references(self):
        """The captions of every row of the dataset, in dataset order."""
        self._check_indexable("references")
        return self._references

    @property
    def images(self):
        """The dataset's images as an array-like `evaluate_captioner` slices.

        `len()` is the number of rows; an index or a slice gives uint8
        images, decoded and resized on demand.
        """
        self._check_indexable("images")
        return _Images(self)

    def _check_indexable(self, name):
        if self.streaming:
            raise TypeError(
                f"`{name}` needs a `datasets.Dataset`; a streaming "
                "`IterableDataset` has no length. Take a part of it into "
                "memory first (`datasets.Dataset.from_list(list("
                "dataset.take(n)))`)."
            )

    def _draw_rows(self, rng):
        mode = "random" if self.targets == "references" else self.reference_mode
        return self._inputs.epoch_rows(mode, self.shuffle, rng)

    def load_images(self, rows):
        """uint8 images `(len(rows), height, width, 3)` of dataset rows."""
        encoded = self._encoded[[int(row) for row in rows]][self.image_column]
        return self._decode(encoded, [int(row) for row in rows])

    def _decode(self, encoded, rows):
        def decode(pair):
            value, row = pair
            return load_encoded_image(
                value, self.image_size, f"row {row} of the dataset"
            )

        images = list(_decode_pool().map(decode, zip(encoded, rows)))
        if self.image_size is None:
            first = self._expected_size or images[0].shape[:2]
            self._expected_size = first
            for image, row in zip(images, rows):
                if image.shape[:2] != first:
                    raise ValueError(
                        "All images must have the same size when "
                        f"`image_size` is None. The image of row {row} has "
                        f"(height, width) {image.shape[:2]}, the first one "
                        f"{first}. Pass `image_size=(height, width)`."
                    )
        return np.stack(images)

    @property
    def num_batches(self):
        if self.streaming:
            return None
        return len(self._batches)

    def __len__(self):
        if self.streaming:
            raise TypeError(
                "A streaming `IterableDataset` has no length: pass "
                "`steps_per_epoch` to `fit`."
            )
        return self.num_batches

    def __getitem__(self, index):
        if self.streaming:
            return self._next_streamed()
        rows = self._batches[index]
        image_rows = self._inputs.reference_image[rows]
        images = self.load_images(image_rows)
        if self.targets == "references":
            return images, [self._references[row] for row in image_rows]
        return images, self._inputs.token_ids[rows]

    def _next_streamed(self):
        with self._lock:
            while len(self._pending) < self.batch_size:
                if self._stream is None:
                    self._stream = iter(
                        self._encoded.as_numpy_iterator()
                        if _validation.is_tf_dataset(self._encoded)
                        else self._encoded
                    )
                    self._row = 0
                try:
                    example = next(self._stream)
                except StopIteration:
                    self._stream = None
                    if self._pending:
                        break
                    continue
                captions = _captions(
                    example[self.caption_column], self._row, self.caption_column
                )
                if self.targets == "references":
                    self._pending.append(
                        (example[self.image_column], self._row, captions)
                    )
                else:
                    for caption in captions:
                        self._pending.append(
                            (example[self.image_column], self._row, caption)
                        )
                self._row += 1
            batch = self._pending[: self.batch_size]
            self._pending = self._pending[self.batch_size :]
        images = self._decode([b[0] for b in batch], [b[1] for b in batch])
        if self.targets == "references":
            return images, [b[2] for b in batch]
        return images, np.asarray(
            self.tokenizer.tokenize([b[2] for b in batch]), "int32"
        )

    def on_epoch_end(self):
        if self.streaming:
            return
        self._batches.on_epoch_end()


class _Images:
    def __init__(self, batches):
        self._batches = batches

    def __len__(self):
        return len(self._batches._references)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._batches.load_images(range(len(self))[index])
        return self._batches.load_images([range(len(self))[index]])[0]


_CAPTION_COLUMNS = ("caption", "captions", "text", "sentences", "sentence")


def _caption_column(columns, requested):
    if requested is not None:
        if requested not in columns:
            raise ValueError(
                f"The dataset has no column {requested!r}: its columns are "
                f"{columns}. Check `caption_column`."
            )
        return requested
    for name in _CAPTION_COLUMNS:
        if name in columns:
            return name
    raise ValueError(
        f"Cannot tell which column of the dataset holds the captions: its "
        f"columns are {columns}, none of {list(_CAPTION_COLUMNS)}. Name it "
        "with `caption_column=`."
    )


def _captions(value, row, column):
    """The captions of one row: a string, a list of them, or COCO-style
    `{"text": [...]}` / `[{"raw": ...}]`."""
    if isinstance(value, dict):
        value = value.get("text", value.get("raw"))
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (str, bytes)):
        value = [value]
    if isinstance(value, (list, tuple)):
        value = [
            item.decode("utf-8", "replace") if isinstance(item, bytes) else item
            for item in value
        ]
    if isinstance(value, (list, tuple)):
        value = [
            item.get("raw", item.get("text"))
            if isinstance(item, dict)
            else item
            for item in value
        ]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(item, str) and item.strip() for item in value)
    ):
        raise ValueError(
            f"Row {row} of the dataset's {column!r} column must hold a "
            f"non-empty caption or list of non-empty captions. Received: "
            f"{value!r}"
        )
    return [item.strip() for item in value]


def _import_datasets():
    try:
        import datasets
    except ImportError as error:
        raise ImportError(
            "`keras_captioning.data.HuggingFaceCaptions` needs the "
            "`datasets` package: `pip install keras-captioning[huggingface]`"
        ) from error
    return datasets
