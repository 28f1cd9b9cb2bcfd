"""Holds images out of a dataset that has no split of its own."""

import numbers

import numpy as np


def split_images(image_paths, references, holdout, seed=0):
    """Splits images (never their captions) into train and held-out sets.

    Every caption of an image goes with it, so no held-out image has been
    seen in training under another caption. The draw depends only on
    `seed` and the number of images; each split keeps the images in their
    original order.

    Args:
        image_paths: list of image paths (or any per-image values).
        references: list of the same length, the captions of each image.
        holdout: dict mapping each held-out split's name (e.g.
            `"validation"`, `"test"`) to a fraction of the images (float
            in (0, 1)) or a number of images (positive int). The images
            left over form `"train"`.
        seed: int. Seed of the draw. Defaults to `0`.

    Returns:
        Dict mapping `"train"` and each name of `holdout` to a tuple
        `(image_paths, references)`.

    Example:

    >>> import keras_captioning
    >>> paths = [f"{index}.jpg" for index in range(10)]
    >>> references = [[f"caption {index}"] for index in range(10)]
    >>> splits = keras_captioning.datasets.split_images(
    ...     paths, references, {"validation": 0.2, "test": 1}
    ... )
    >>> {name: len(split[0]) for name, split in splits.items()}
    {'train': 7, 'validation': 2, 'test': 1}
    """
    if len(image_paths) != len(references):
        raise ValueError(
            "`image_paths` and `references` must have the same length. "
            f"Received: {len(image_paths)} image paths and "
            f"{len(references)} references"
        )
    sizes = holdout_sizes(holdout, len(image_paths))
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
        raise TypeError(
            f"`seed` must be an integer. Received: seed={seed!r} of type "
            f"{type(seed).__name__}"
        )
    order = np.random.default_rng(int(seed)).permutation(len(image_paths))
    splits = {}
    start = 0
    chosen = {}
    for name, size in sizes.items():
        chosen[name] = np.sort(order[start : start + size])
        start += size
    chosen = {"train": np.sort(order[start:]), **chosen}
    for name, indices in chosen.items():
        splits[name] = (
            [image_paths[index] for index in indices],
            [references[index] for index in indices],
        )
    return splits


def holdout_sizes(holdout, num_images):
    """The number of images of each held-out split, checked."""
    if not isinstance(holdout, dict) or not holdout:
        raise TypeError(
            "`holdout` must be a non-empty dict mapping split names to a "
            "fraction or a number of images, e.g. {'validation': 0.1, "
            f"'test': 0.1}}. Received: holdout={holdout!r}"
        )
    sizes = {}
    for name, value in holdout.items():
        if not isinstance(name, str) or name == "train":
            raise ValueError(
                "The held-out splits must be named by strings other than "
                f"'train' (the images left over). Received: {name!r}"
            )
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"The size of split {name!r} must be a fraction in (0, 1) or "
                f"a positive number of images. Received: {value!r}"
            )
        if isinstance(value, numbers.Integral):
            size = int(value)
            if size < 1:
                raise ValueError(
                    f"The size of split {name!r} must be at least 1 image. "
                    f"Received: {value!r}"
                )
        else:
            if not 0.0 < value < 1.0:
                raise ValueError(
                    f"The size of split {name!r} must be a fraction in "
                    f"(0, 1) or a positive number of images. Received: "
                    f"{value!r}"
                )
            size = int(round(value * num_images))
            if size < 1:
                raise ValueError(
                    f"A fraction {value!r} of {num_images} images holds out "
                    f"no image for split {name!r}. Pass a larger fraction or "
                    "a number of images."
                )
        sizes[name] = size
    if sum(sizes.values()) >= num_images:
        raise ValueError(
            f"The held-out splits {sizes} take {sum(sizes.values())} of the "
            f"{num_images} images, leaving none to train on. Hold out fewer."
        )
    return sizes
