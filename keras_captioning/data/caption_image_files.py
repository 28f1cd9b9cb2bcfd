"""Captions image files in batches, going on past the unreadable ones."""

import os

import keras
import numpy as np

from keras_captioning._validation import check_int
from keras_captioning.data.read_image import read_image


def caption_image_files(
    captioner,
    image_paths,
    image_size=None,
    batch_size=32,
    verbose=1,
    on_failure=None,
    **generate_options,
):
    """Captions image files in batches, going on past the unreadable ones.

    What `keras-captioning caption` runs. Each file is read with
    `keras_captioning.data.read_image` at `image_size`; a file that cannot
    be read (missing, empty, cut short, not an image) is recorded as a
    failure and the others are still captioned. The images read are then
    captioned `batch_size` at a time by `captioner.generate` (one at a
    time when `image_size` is `None`, since images of their own sizes may
    differ). A `keras.utils.Progbar` counts the files read, then the
    images captioned.

    Args:
        captioner: an `ImageCaptioner` with an encoder (or any object with
            its `generate` and `detokenize`).
        image_paths: list of str or path-like, the image files.
        image_size: `None` or `(height, width)`: the size images are read
            at; `None` keeps each file's own size. Usually
            `captioner.preprocessor.target_size`. Defaults to `None`.
        batch_size: int. Images per call of `generate`. Defaults to `32`.
        verbose: `0` (silent) or `1` (progress bars). Defaults to `1`.
        on_failure: `None` or a callable, called with `(path, error)`
            (the `ImageFileError`) as each failure happens, e.g. to report
            it at once. Defaults to `None`.
        **generate_options: passed to `captioner.generate`: `strategy`,
            `max_length`, `beam_width`, the decoding controls.

    Returns:
        `(results, failures)`: `results`, a list of `(path, caption,
        score)` for the files read, in input order (`score` a float, the
        caption's score as `generate(..., return_scores=True)` gives it);
        `failures`, a list of `(path, message)` for the others.

    Raises:
        TypeError: if `image_paths` is one path rather than a list.
        ValueError: if `batch_size` is not a positive integer or
            `verbose` is not 0 or 1.

    Example:

    >>> results, failures = keras_captioning.data.caption_image_files(
    ...     captioner, ["cat.jpg", "missing.jpg"], (224, 224), verbose=0,
    ... )  # doctest: +SKIP
    >>> failures  # doctest: +SKIP
    [('missing.jpg', "Cannot read the image file 'missing.jpg': no such file.")]
    """
    if isinstance(image_paths, (str, bytes, os.PathLike)):
        raise TypeError(
            "`image_paths` must be a list of paths, not one path. Received: "
            f"image_paths={image_paths!r}"
        )
    batch_size = check_int("batch_size", batch_size)
    if verbose not in (0, 1):
        raise ValueError(
            f"`verbose` must be 0 or 1. Received: verbose={verbose!r}"
        )
    readable, images, failures = [], [], []
    progress = keras.utils.Progbar(
        len(image_paths), verbose=verbose, unit_name="image"
    )
    for path in image_paths:
        try:
            images.append(read_image(path, image_size))
            readable.append(path)
        except ValueError as error:  # `ImageFileError` is a ValueError.
            failures.append((path, str(error)))
            if on_failure is not None:
                on_failure(path, error)
        progress.add(1)
    # Images of unknown size may differ: one image per batch.
    batch_size = batch_size if image_size else 1
    results = []
    progress = keras.utils.Progbar(
        len(images), verbose=verbose, unit_name="image"
    )
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        outputs = captioner.generate(
            np.stack(batch),
            return_scores=True,
            batch_size=min(batch_size, len(images)),
            **generate_options,
        )
        captions = captioner.detokenize(outputs["token_ids"])
        for path, caption, score in zip(
            readable[start:], captions, outputs["scores"]
        ):
            results.append((path, caption, float(score)))
        progress.add(len(batch))
    return results, failures
