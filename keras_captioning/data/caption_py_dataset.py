import keras

from keras_captioning.data._caption_inputs import check_options
from keras_captioning.data._caption_inputs import prepare_caption_inputs
from keras_captioning.data._image_files import image_file_size
from keras_captioning.data._image_files import load_images
from keras_captioning.data._image_files import resize_images
from keras_captioning.data._sharding import check_shard
from keras_captioning.data.row_batcher import RowBatcher


class CaptionPyDataset(keras.utils.PyDataset):
    """Batches of images and tokenized captions, built with NumPy and Pillow.

    The NumPy counterpart of `keras_captioning.data.make_dataset`, for users
    of the jax and torch backends who would rather not run TensorFlow in
    their input pipeline (it works on the tensorflow backend too). It takes
    the same inputs and yields the same batches:
    `(images, token_ids)`, with `images` uint8 `(batch, height, width, 3)`
    and `token_ids` int32 `(batch, tokenizer.max_length + 2)`, ready for
    `ImageCaptioner.fit`. The last batch of an epoch may be smaller.

    All references are tokenized once, when the dataset is created. Image
    files are read when their batch is requested, by
    `keras_captioning.data.read_image` (Pillow, every mode to RGB, EXIF
    orientation applied), the files of a batch by a pool of one thread per
    CPU, and, when `image_size` is set, resized with Pillow's bilinear
    filter (antialiased): the pixels `make_dataset` and `cache_features`
    give for the same file. With the default `workers=2`, `fit` prepares
    the next batch while the model trains on the current one. A file that
    cannot be read raises `keras_captioning.data.ImageFileError` naming it.

    Rows are chosen by `reference_mode`:

    - `"all"`: every (image, reference) pair is one row, so an epoch sees
      every reference once and an image with five references five times.
    - `"random"`: every image is one row, paired with one of its references
      drawn uniformly at random, drawn again each epoch.

    Each call of `on_epoch_end` (which `fit` makes after every epoch, and
    once before the first) moves to the next epoch: rows are reshuffled
    when `shuffle` is set and references drawn again in `"random"` mode.
    The shuffling and the draws after `e` calls depend only on `seed` and
    `e`, so a seeded dataset repeats itself exactly; with `seed=None` a
    seed is drawn once at creation. The order is not the one
    `make_dataset` produces with the same seed. (`fit(shuffle=True)` also
    shuffles the order of whole batches.)

    Args:
        images: uint8 NumPy array `(n, height, width, 3)`, or a list of `n`
            image file paths (JPEG, PNG or anything else Pillow reads).
        references: list of `n` lists of str, the reference captions of
            each image. Every image needs at least one.
        tokenizer: `keras_captioning.text.CaptionTokenizer`.
        batch_size: int. Rows per batch. Defaults to `32`.
        image_size: `(height, width)` to resize every image to, or `None`
            to keep the decoded size, which all images must then share.
            Defaults to `None`.
        reference_mode: `"all"` or `"random"`, described above. Defaults to
            `"all"`.
        shuffle: bool. Whether rows are shuffled each epoch. Defaults to
            `True`.
        seed: int or `None`. Seed of the shuffling and reference draws.
            Defaults to `None`.
        workers: int. Number of threads or processes preparing batches
            (`fit` runs them ahead of training; each batch's files are
            read on every CPU whatever this number). Defaults to `2`.
        use_multiprocessing: bool. Whether `workers` are processes rather
            than threads. Defaults to `False`.
        max_queue_size: int. Batches prepared ahead of use when `workers`
            is above 1. Defaults to `10`.
        num_shards: int or `None`. The number of processes reading the
            data in a multi-process job: each epoch's rows are drawn as
            usual, cut to a multiple of `num_shards` (so every process
            runs the same number of steps; up to `num_shards - 1` rows of
            that epoch are skipped) and this process keeps every
            `num_shards`-th row from `shard_index`. `batch_size` is then
            per process: a step trains on `batch_size * num_shards` rows.
            `None` takes both from Keras (on jax after
            `keras.distribution.initialize`: the process count and index;
            `1` and `0` otherwise). With several shards and `shuffle`, give
            the same `seed` on every process. Defaults to `None`.
        shard_index: int or `None`. This process's shard, in
            `[0, num_shards)`. Defaults to `None`.

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> tokenizer = keras_captioning.text.CaptionTokenizer(
    ...     ["a", "the", "dog", "cat"], max_length=5
    ... )
    >>> dataset = keras_captioning.data.CaptionPyDataset(
    ...     np.zeros((3, 8, 8, 3), "uint8"),
    ...     [["a dog"], ["a cat", "the cat"], ["a dog"]],
    ...     tokenizer,
    ...     batch_size=2,
    ...     seed=0,
    ... )
    >>> len(dataset)
    2
    >>> images, token_ids = dataset[0]
    >>> images.shape, images.dtype, token_ids.shape, token_ids.dtype
    ((2, 8, 8, 3), dtype('uint8'), (2, 7), dtype('int32'))
    """

    def __init__(
        self,
        images,
        references,
        tokenizer,
        batch_size=32,
        image_size=None,
        reference_mode="all",
        shuffle=True,
        seed=None,
        workers=2,
        use_multiprocessing=False,
        max_queue_size=10,
        num_shards=None,
        shard_index=None,
    ):
        super().__init__(
            workers=workers,
            use_multiprocessing=use_multiprocessing,
            max_queue_size=max_queue_size,
        )
        image_size = check_options(
            batch_size, image_size, reference_mode, shuffle, seed
        )
        self.tokenizer = tokenizer
        self.batch_size = int(batch_size)
        self.image_size = image_size
        self.reference_mode = reference_mode
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.num_shards, self.shard_index = check_shard(
            num_shards, shard_index, shuffle, seed
        )
        self._inputs = prepare_caption_inputs(images, references, tokenizer)
        self._expected_size = None
        if self._inputs.paths is not None and image_size is None:
            self._expected_size = image_file_size(self._inputs.paths[0])
        self._batches = RowBatcher(self._draw_rows, batch_size, seed=seed)

    def _draw_rows(self, rng):
        rows = self._inputs.epoch_rows(self.reference_mode, self.shuffle, rng)
        if self.num_shards == 1:
            return rows
        rows = rows[: len(rows) // self.num_shards * self.num_shards]
        return rows[self.shard_index :: self.num_shards]

    def __len__(self):
        return len(self._batches)

    def __getitem__(self, index):
        rows = self._batches[index]
        image_indices = self._inputs.reference_image[rows]
        if self._inputs.paths is not None:
            images = load_images(
                [self._inputs.paths[i] for i in image_indices],
                self.image_size,
                self._expected_size,
            )
        else:
            images = resize_images(
                self._inputs.images[image_indices], self.image_size
            )
        return images, self._inputs.token_ids[rows]

    def on_epoch_end(self):
        self._batches.on_epoch_end()
