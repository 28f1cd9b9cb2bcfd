import os

from keras_captioning.data._caption_inputs import check_options
from keras_captioning.data._caption_inputs import prepare_caption_inputs
from keras_captioning.data._image_files import image_file_size
from keras_captioning.data._image_files import load_image
from keras_captioning.data._sharding import check_shard


def make_dataset(
    images,
    references,
    tokenizer,
    batch_size=32,
    image_size=None,
    reference_mode="all",
    shuffle=True,
    seed=None,
    drop_remainder=False,
    num_shards=None,
    shard_index=None,
):
    """Builds a `tf.data.Dataset` of images and tokenized captions.

    The dataset yields `(images, token_ids)` batches, with `images` uint8
    `(batch, height, width, 3)` and `token_ids` int32
    `(batch, tokenizer.max_length + 2)`, which is what `ImageCaptioner.fit`
    takes (the model shifts the ids into inputs and targets itself). Keras 3
    accepts a `tf.data.Dataset` on every backend, so this pipeline serves
    jax and torch too; `keras_captioning.data.CaptionPyDataset` yields the
    same batches without TensorFlow.

    All references are tokenized once, when the dataset is built. Image
    files are read inside the pipeline, several at once
    (`num_parallel_calls=tf.data.AUTOTUNE`), by
    `keras_captioning.data.read_image` (Pillow, every mode to RGB, EXIF
    orientation applied) and, when `image_size` is set, resized with
    Pillow's bilinear filter (antialiased), exactly as `CaptionPyDataset`
    and `cache_features` do: the three give identical pixels for the same
    file. A file that cannot be read stops the iteration with a TensorFlow
    error whose message holds the `ImageFileError` line naming it. Batches
    are prefetched. An images array is copied once into a TensorFlow tensor
    and resized with `tf.image.resize(..., antialias=True)`, rounded.

    Rows are chosen by `reference_mode`:

    - `"all"`: every (image, reference) pair is one row, so an epoch sees
      every reference once and an image with five references five times.
    - `"random"`: every image is one row, paired with one of its references
      drawn uniformly at random, drawn again each epoch.

    Each iteration over the dataset (each epoch of `fit`) reshuffles the
    rows when `shuffle` is set and draws the references again in
    `"random"` mode. With a `seed` the sequence of epochs is reproducible:
    it is fixed by `seed` together with TensorFlow's global seed, which
    `keras.utils.set_random_seed` sets (TensorFlow uses a fixed default
    when no global seed is set).

    Args:
        images: uint8 NumPy array `(n, height, width, 3)`, or a list of `n`
            image file paths (JPEG, PNG or anything else Pillow reads).
        references: list of `n` lists of str, the reference captions of
            each image. Every image needs at least one.
        tokenizer: `keras_captioning.text.CaptionTokenizer`.
        batch_size: int. Rows per batch. Defaults to `32`.
        image_size: `(height, width)` to resize every image to, or `None`
            to keep the decoded size, which all images must then share (a
            file of another size stops the iteration with an error naming
            it). Defaults to `None`.
        reference_mode: `"all"` or `"random"`, described above. Defaults to
            `"all"`.
        shuffle: bool. Whether rows are shuffled each epoch. Defaults to
            `True`.
        seed: int or `None`. Seed of the shuffling and reference draws.
            Defaults to `None`.
        drop_remainder: bool. Whether to drop the last batch of an epoch
            when it is smaller than `batch_size`, giving every batch a
            static size. Its rows are then skipped that epoch. Defaults to
            `False`.
        num_shards: int or `None`. The number of processes reading the
            data in a multi-process job: each epoch's rows are drawn as
            usual, cut to a multiple of `num_shards` (every process runs
            the same number of steps; up to `num_shards - 1` rows of that
            epoch are skipped) and this process keeps every
            `num_shards`-th row from `shard_index`, so it reads only its
            own files. `batch_size` is then per process. `None` takes both
            from Keras (on jax after `keras.distribution.initialize`: the
            process count and index; `1` and `0` otherwise). With several
            shards and `shuffle`, give the same `seed` on every process.
            Defaults to `None`.
        shard_index: int or `None`. This process's shard, in
            `[0, num_shards)`. Defaults to `None`.

    Returns:
        A `tf.data.Dataset` of `(images, token_ids)` batches.

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> tokenizer = keras_captioning.text.CaptionTokenizer(
    ...     ["a", "the", "dog", "cat"], max_length=5
    ... )
    >>> dataset = keras_captioning.data.make_dataset(
    ...     np.zeros((3, 8, 8, 3), "uint8"),
    ...     [["a dog"], ["a cat", "the cat"], ["a dog"]],
    ...     tokenizer,
    ...     batch_size=2,
    ...     image_size=(4, 4),
    ...     seed=0,
    ... )
    >>> [tuple(images.shape) for images, _ in dataset]
    [(2, 4, 4, 3), (2, 4, 4, 3)]
    """
    import tensorflow as tf

    image_size = check_options(
        batch_size, image_size, reference_mode, shuffle, seed
    )
    if not isinstance(drop_remainder, bool):
        raise TypeError(
            "`drop_remainder` must be a bool. "
            f"Received: drop_remainder={drop_remainder!r}"
        )
    num_shards, shard_index = check_shard(
        num_shards, shard_index, shuffle, seed
    )
    inputs = prepare_caption_inputs(images, references, tokenizer)
    token_ids = tf.constant(inputs.token_ids)
    autotune = tf.data.AUTOTUNE

    if reference_mode == "all":
        rows = tf.data.Dataset.range(len(inputs.token_ids))
        if shuffle:
            rows = rows.shuffle(
                len(inputs.token_ids), seed=seed, reshuffle_each_iteration=True
            )
    else:
        rows = tf.data.Dataset.range(inputs.num_images)
        if shuffle:
            rows = rows.shuffle(
                inputs.num_images, seed=seed, reshuffle_each_iteration=True
            )
        first_reference = tf.constant(inputs.first_reference)
        num_references = tf.constant(inputs.num_references)
        # A second seed keeps the draws independent of the shuffle's stream.
        draws = tf.data.Dataset.random(
            seed=None if seed is None else seed + 1,
            rerandomize_each_iteration=True,
        )

        def draw_reference(image, draw):
            offset = tf.math.floormod(draw, tf.gather(num_references, image))
            return tf.gather(first_reference, image) + offset

        rows = tf.data.Dataset.zip(rows, draws).map(draw_reference)

    if num_shards > 1:
        num_rows = (
            len(inputs.token_ids)
            if reference_mode == "all"
            else inputs.num_images
        )
        rows = rows.take(num_rows // num_shards * num_shards)
        rows = rows.shard(num_shards, shard_index)
    reference_image = tf.constant(inputs.reference_image)

    if inputs.paths is None:
        pixels = tf.convert_to_tensor(inputs.images)

        def gather_batch(batch_rows):
            batch = tf.gather(pixels, tf.gather(reference_image, batch_rows))
            if image_size is not None:
                batch = _resize(tf, batch, image_size)
            return batch, tf.gather(token_ids, batch_rows)

        dataset = rows.batch(batch_size, drop_remainder=drop_remainder)
        dataset = dataset.map(gather_batch, num_parallel_calls=autotune)
    else:
        paths = tf.constant(inputs.paths)
        expected_size = None
        if image_size is None:
            expected_size = image_file_size(inputs.paths[0])
        shape = (*(image_size or expected_size), 3)

        def read(path):
            return load_image(os.fsdecode(path), image_size, expected_size)

        def load_row(row):
            path = tf.gather(paths, tf.gather(reference_image, row))
            # The reader the other pipelines use, so the pixels are the
            # same; Pillow releases the GIL while it decodes and resizes,
            # so the parallel map runs several files at once.
            image = tf.numpy_function(read, [path], tf.uint8, stateful=False)
            image.set_shape(shape)
            return image, tf.gather(token_ids, row)

        dataset = rows.map(load_row, num_parallel_calls=autotune)
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(autotune)


def _resize(tf, images, image_size):
    resized = tf.image.resize(images, image_size, antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
