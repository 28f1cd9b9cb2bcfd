import concurrent.futures
import datetime
import json
import os

import keras
import numpy as np

from keras_captioning import _atomic
from keras_captioning.data._caption_inputs import check_batch_size
from keras_captioning.data._caption_inputs import check_image_size
from keras_captioning.data._caption_inputs import check_images
from keras_captioning.data._feature_cache_key import feature_cache_key
from keras_captioning.data._image_files import image_file_size
from keras_captioning.data._image_files import load_images
from keras_captioning.data._image_files import resize_images
from keras_captioning.data._sharding import check_shard


def cache_features(
    encoder,
    images,
    cache_dir,
    batch_size=32,
    image_size=None,
    mmap_mode=None,
    verbose=1,
    num_shards=None,
    shard_index=None,
):
    """Computes a frozen encoder's features for some images once, then reuses.

    With a frozen encoder, its output for an image never changes, so
    training can read cached features instead of running the CNN every
    epoch. The first call runs `encoder` over `images` batch by batch, with
    a progress bar, and writes the features to
    `cache_dir/features-<key>.npy`, plus `cache_dir/features-<key>.json`
    describing what the key was made of. A later call with the same key
    loads the `.npy` file without running the encoder.

    The key is a digest of:

    - the encoder's architecture, from its Keras config with layer names
      replaced by their order of appearance (names numbered automatically,
      such as `dense_3`, differ between sessions for the same model);
    - every weight of the encoder (shape, dtype and values), trainable or
      not;
    - the images: for an array its shape, dtype and bytes; for files their
      absolute paths, sizes and modification times (the contents are not
      read, which keeps a cache check cheap; touching a file invalidates);
    - `image_size`.

    Any change gives a new key and so a new pair of files; old pairs stay
    until removed. The rows are written to a hidden file,
    `.features-<key>.partial.npy`, renamed to `features-<key>.npy` when
    every row is there, and the `.json` record is written last (also under
    a temporary name, then renamed): a cache with its record is complete.
    After every batch the finished rows are flushed and counted in
    `.features-<key>.progress.json`, so a run that is interrupted (an
    exception, Ctrl-C, even SIGKILL) and called again with the same key
    resumes after the last finished batch instead of starting over; a run
    with another key never reads those rows. Two processes must not cache
    the same key at the same time.

    In a multi-process job each process caches only its own shard of the
    images (`num_shards`, `shard_index`, by default from Keras as in
    `make_dataset`): the images are cut to a multiple of `num_shards` and
    this process keeps every `num_shards`-th image from `shard_index`,
    `images[:n // num_shards * num_shards][shard_index::num_shards]`. The
    shard is part of the key, so the processes write different files (a
    shared `cache_dir` is safe) and none waits for another. Train each
    process on the references of the same images, sliced the same way.

    The encoder receives uint8 batches `(batch, height, width, 3)`, the
    images as given or resized bilinearly to `image_size`, so any
    preprocessing (scaling, `keras.applications` `preprocess_input`) belongs
    inside the encoder. A `keras.Model` runs through `predict_on_batch`
    (compiled); another layer or callable is called eagerly.

    Args:
        encoder: `keras.Model` or `keras.layers.Layer` taking a uint8 image
            batch and returning one tensor whose first axis is the batch.
        images: uint8 NumPy array `(n, height, width, 3)`, or a list of `n`
            image file paths read with Pillow.
        cache_dir: str or path-like. Directory of the cache, created when
            missing.
        batch_size: int. Images per encoder call. Defaults to `32`.
        image_size: `(height, width)` to resize every image to, or `None`
            to keep the decoded size, which all images must then share.
            Defaults to `None`.
        mmap_mode: `None` or a `numpy.load` memory-map mode such as `"r"`,
            to map a large cache instead of reading it into memory.
            Defaults to `None`.
        verbose: `0` for silence, `1` for a progress bar while features are
            computed and a line when the cache is reused. Defaults to `1`.
        num_shards: int or `None`. The number of processes in a
            multi-process job, each caching its own shard of the images, as
            described above. `None` takes both from Keras (on jax after
            `keras.distribution.initialize`: the process count and index;
            `1` and `0` otherwise). Defaults to `None`.
        shard_index: int or `None`. This process's shard, in
            `[0, num_shards)`. Defaults to `None`.

    Returns:
        NumPy array of shape `(n, *feature_shape)`, row `i` holding the
        features of image `i`; with several shards, `n` is the size of this
        process's shard and row `i` holds its `i`-th image.

    Example:

    >>> import tempfile
    >>> import keras
    >>> import numpy as np
    >>> import keras_captioning
    >>> encoder = keras.Sequential(
    ...     [keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D()]
    ... )
    >>> images = np.full((5, 8, 8, 3), 2, "uint8")
    >>> with tempfile.TemporaryDirectory() as cache_dir:
    ...     features = keras_captioning.data.cache_features(
    ...         encoder, images, cache_dir, batch_size=2, verbose=0
    ...     )
    >>> features.shape, float(features[0, 0])
    ((5, 3), 2.0)
    """
    if not isinstance(encoder, keras.layers.Layer):
        raise TypeError(
            "`encoder` must be a `keras.Model` or `keras.layers.Layer`. "
            f"Received: encoder={encoder!r} of type {type(encoder).__name__}"
        )
    array, paths = check_images(images)
    num_shards, shard_index = check_shard(
        num_shards, shard_index, shuffle=False, seed=None
    )
    if num_shards > 1:
        array, paths = _shard(array, paths, num_shards, shard_index)
    image_size = check_image_size(image_size)
    check_batch_size(batch_size)
    if verbose not in (0, 1):
        raise ValueError(
            f"`verbose` must be 0 or 1. Received: verbose={verbose!r}"
        )
    if not isinstance(cache_dir, (str, os.PathLike)):
        raise TypeError(
            "`cache_dir` must be a str or path-like. "
            f"Received: cache_dir={cache_dir!r}"
        )

    key, description = feature_cache_key(
        encoder, array, paths, image_size, (num_shards, shard_index)
    )
    os.makedirs(cache_dir, exist_ok=True)
    features_path = os.path.join(cache_dir, f"features-{key}.npy")
    record_path = os.path.join(cache_dir, f"features-{key}.json")
    num_images = len(array) if array is not None else len(paths)

    cached = _load_cached(
        features_path, record_path, key, num_images, mmap_mode
    )
    if cached is not None:
        if verbose:
            print(f"Loaded cached features {cached.shape} from {features_path}")
        return cached

    feature_shape, dtype = _compute_features(
        encoder, array, paths, image_size, batch_size, features_path, verbose
    )
    record = {
        "key": key,
        **description,
        "features": {"shape": [num_images, *feature_shape], "dtype": dtype},
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "keras_version": keras.__version__,
        "backend": keras.backend.backend(),
    }
    # The record is written last: its presence marks a complete cache.
    _atomic.write_text(record_path, json.dumps(record, indent=2))
    return np.load(features_path, mmap_mode=mmap_mode)


def _shard(array, paths, num_shards, shard_index):
    """Returns this process's images, cut and strided as `make_dataset`."""
    num_images = len(array) if array is not None else len(paths)
    if num_images < num_shards:
        raise ValueError(
            f"`images` holds {num_images} images, fewer than "
            f"num_shards={num_shards}: every shard needs at least one"
        )
    stop = num_images // num_shards * num_shards
    if array is not None:
        return array[:stop][shard_index::num_shards], None
    return None, paths[:stop][shard_index::num_shards]


def _load_cached(features_path, record_path, key, num_images, mmap_mode):
    """Returns the cached features, or `None` when they must be computed."""
    if not (os.path.isfile(features_path) and os.path.isfile(record_path)):
        return None
    try:
        with open(record_path) as file:
            record = json.load(file)
        features = np.load(features_path, mmap_mode=mmap_mode)
    except (OSError, ValueError):
        return None
    if record.get("key") != key or len(features) != num_images:
        return None
    return features


def _compute_features(
    encoder, array, paths, image_size, batch_size, features_path, verbose
):
    """Runs the encoder batch by batch into a memory-mapped `.npy` file.

    The rows go to `.<name>.partial.npy` beside `features_path`; after each
    batch the mapped rows are flushed, then a progress record naming the key
    and the number of finished rows replaces the previous one. A run that
    finds both resumes after the last finished batch.
    """
    num_images = len(array) if array is not None else len(paths)
    directory, name = os.path.split(features_path)
    stem = name.removesuffix(".npy")
    partial_path = os.path.join(directory, f".{stem}.partial.npy")
    progress_path = os.path.join(directory, f".{stem}.progress.json")
    key = stem.removeprefix("features-")

    output, done = _resume(partial_path, progress_path, key, num_images)
    starts = range(done, num_images, batch_size)

    expected_size = None
    if paths is not None and image_size is None:
        expected_size = image_file_size(paths[0])

    def load_batch(start):
        stop = start + batch_size
        if array is not None:
            return resize_images(array[start:stop], image_size)
        return load_images(paths[start:stop], image_size, expected_size)

    progress = keras.utils.Progbar(
        num_images, verbose=verbose, unit_name="image"
    )
    if done:
        progress.update(done)
    # One thread loads the next batch (its files on every core, see
    # `load_images`) while the encoder runs on this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(load_batch, starts[0]) if starts else None
        for index, start in enumerate(starts):
            batch = pending.result()
            if index + 1 < len(starts):
                pending = pool.submit(load_batch, starts[index + 1])
            features = _run_encoder(encoder, batch)
            if output is None:
                output = np.lib.format.open_memmap(
                    partial_path,
                    mode="w+",
                    dtype=features.dtype,
                    shape=(num_images, *features.shape[1:]),
                )
            elif features.shape[1:] != output.shape[1:]:
                raise ValueError(
                    "`encoder` returned features of shape "
                    f"{features.shape[1:]} for images "
                    f"{start}-{start + len(batch) - 1}, after "
                    f"{output.shape[1:]} for the ones before"
                )
            output[start : start + len(batch)] = features
            # Rows first, then the record that counts them: a kill between
            # the two only loses this batch.
            output.flush()
            done = start + len(batch)
            _atomic.write_text(
                progress_path,
                json.dumps(
                    {
                        "key": key,
                        "rows_done": done,
                        "shape": list(output.shape),
                        "dtype": str(output.dtype),
                    }
                ),
            )
            progress.update(done)
    feature_shape = list(output.shape[1:])
    dtype = str(output.dtype)
    del output
    os.replace(partial_path, features_path)
    os.remove(progress_path)
    return feature_shape, dtype


def _resume(partial_path, progress_path, key, num_images):
    """Returns `(rows, rows_done)` of an unfinished run, or `(None, 0)`."""
    try:
        with open(progress_path) as file:
            record = json.load(file)
        done = record["rows_done"]
        if record["key"] != key or record["shape"][0] != num_images:
            return None, 0
        rows = np.lib.format.open_memmap(partial_path, mode="r+")
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None, 0
    if (
        list(rows.shape) != record["shape"]
        or str(rows.dtype) != record["dtype"]
        or not 0 < done <= num_images
    ):
        return None, 0
    return rows, done


def _run_encoder(encoder, batch):
    if isinstance(encoder, keras.Model):
        features = encoder.predict_on_batch(batch)
    else:
        features = encoder(batch)
    if isinstance(features, (list, tuple, dict)):
        raise ValueError(
            "`encoder` must return a single tensor of features. Received "
            f"a {type(features).__name__}"
        )
    features = keras.ops.convert_to_numpy(features)
    if features.ndim < 1 or len(features) != len(batch):
        raise ValueError(
            "`encoder` must return one row of features per image. For a "
            f"batch of {len(batch)} images it returned shape {features.shape}"
        )
    return features
