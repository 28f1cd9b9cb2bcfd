"""Turns `(images, token_ids)` training data into teacher-forcing batches.

`ImageCaptioner.fit` takes images with whole captions; the decoder reads the
caption without its last token and predicts it without its first. The shift
happens here, once, for every kind of data Keras accepts.
"""

import inspect

import keras
import numpy as np

from keras_captioning import _validation


def check_token_ids(token_ids, argument="y"):
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


def shift(images, token_ids):
    """Splits whole captions into decoder inputs and next-token targets."""
    return {"images": images, "token_ids": token_ids[:, :-1]}, token_ids[:, 1:]


KINDS = ("inputs", "tf_dataset", "py_dataset", "generator", "arrays")


def data_kind(x):
    """What kind of training data `x` is: one of `KINDS`.

    `"inputs"` is a dict of model inputs, passed through as they are;
    `"arrays"` is anything else (arrays, tensors, lists). The one place
    the training modes (`fit`, `fit_self_critical`) tell them apart.
    """
    if isinstance(x, dict):
        return "inputs"
    if _validation.is_tf_dataset(x):
        return "tf_dataset"
    if isinstance(x, keras.utils.PyDataset):
        return "py_dataset"
    if inspect.isgenerator(x):
        return "generator"
    return "arrays"


_KIND_NAMES = {
    "tf_dataset": "a tf.data.Dataset",
    "py_dataset": "a keras.utils.PyDataset",
    "generator": "a generator",
}


def teacher_forcing_inputs(x, y, kwargs, check_images):
    """Returns `(x, y, kwargs)` ready for `keras.Model.fit`/`evaluate`."""
    kind = data_kind(x)
    if kind == "inputs":
        return x, y, kwargs
    if kind != "arrays":
        _no_targets(y, _KIND_NAMES[kind])
    if kind == "tf_dataset":
        return _shift_tf_dataset(x), None, kwargs
    if kind == "py_dataset":
        return _TeacherForcingPyDataset(x), None, kwargs
    if kind == "generator":
        return (_shift_batch(batch) for batch in x), None, kwargs
    if y is None:
        raise ValueError(
            "`fit`/`evaluate` need token ids: pass `y=captioner.tokenize("
            "captions)` with the images, or a dataset of (images, token_ids)."
        )
    images = check_images(x)
    token_ids = check_token_ids(y)
    if len(images) != len(token_ids):
        raise ValueError(
            "`x` (images) and `y` (token ids) must hold the same number of "
            f"examples. Received {len(images)} images and {len(token_ids)} "
            "captions."
        )
    inputs, targets = shift(images, token_ids)
    return inputs, targets, kwargs


def teacher_forcing_validation(validation_data, check_images):
    if isinstance(validation_data, (tuple, list)):
        if len(validation_data) != 2:
            raise ValueError(
                "`validation_data` must be (images, token_ids) or a dataset. "
                f"Received a sequence of length {len(validation_data)}."
            )
        x, y, _ = teacher_forcing_inputs(
            validation_data[0], validation_data[1], {}, check_images
        )
        return (x, y)
    x, _, _ = teacher_forcing_inputs(validation_data, None, {}, check_images)
    return x


def yields_batches(x):
    """Whether `fit` gets batches it cannot shuffle itself.

    Keras ignores `shuffle=True` for a `tf.data.Dataset`, a generator and a
    `PyDataset` of unknown length, and warns about it; `fit` then defaults
    `shuffle` to `False` for them.
    """
    kind = data_kind(x)
    if kind in ("tf_dataset", "generator"):
        return True
    return kind == "py_dataset" and getattr(x, "num_batches", None) is None


def _no_targets(y, kind):
    if y is not None:
        raise ValueError(
            f"When `x` is {kind}, it must yield (images, token_ids) batches "
            f"and `y` must be None. Received y of type {type(y).__name__}."
        )


def _shift_tf_dataset(dataset):
    spec = dataset.element_spec
    if isinstance(spec, tuple) and isinstance(spec[0], dict):
        return dataset
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ValueError(
            "A dataset passed to `fit` must yield (images, token_ids) "
            f"batches. Its element_spec is {spec}."
        )
    return dataset.map(shift)


def _shift_batch(batch):
    if isinstance(batch, tuple) and isinstance(batch[0], dict):
        return batch
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError(
            "Training batches must be (images, token_ids) pairs. Received "
            f"a batch of type {type(batch).__name__}."
        )
    images, token_ids = batch
    token_ids = check_token_ids(token_ids, "token_ids")
    return shift(images, token_ids)


class _TeacherForcingPyDataset(keras.utils.PyDataset):
    """Wraps a PyDataset of `(images, token_ids)` with the shift applied."""

    def __init__(self, dataset):
        super().__init__(
            workers=dataset.workers,
            use_multiprocessing=dataset.use_multiprocessing,
            max_queue_size=dataset.max_queue_size,
        )
        self._dataset = dataset

    def __len__(self):
        return len(self._dataset)

    @property
    def num_batches(self):
        return self._dataset.num_batches

    def __getitem__(self, index):
        return _shift_batch(self._dataset[index])

    def on_epoch_begin(self):
        self._dataset.on_epoch_begin()

    def on_epoch_end(self):
        self._dataset.on_epoch_end()
