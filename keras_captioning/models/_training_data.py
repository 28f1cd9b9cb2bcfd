"""Training data of every kind Keras accepts, for both training modes.

`ImageCaptioner.fit` takes images with whole captions: this module hands
arrays, `tf.data` datasets, `PyDataset`s and generators to the
preprocessor, whose `teacher_forcing` returns `(x, y, sample_weight)` (the
shift, written once). `fit_self_critical` takes images with reference
captions: `ReferenceBatches` reads them batch by batch.
"""

import inspect

import keras
import numpy as np

from keras_captioning import _validation
from keras_captioning.data import RowBatcher
from keras_captioning.models.image_captioner_preprocessor import check_token_ids

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


def teacher_forcing_inputs(x, y, kwargs, preprocessor):
    """Returns `(x, y, kwargs)` ready for `keras.Model.fit`/`evaluate`.

    `kwargs` gains the padding mask as `sample_weight` for arrays (a
    `sample_weight` of the user's is kept); datasets yield it.
    """
    kind = data_kind(x)
    if kind == "inputs":
        return x, y, kwargs
    if kind != "arrays":
        _no_targets(y, _KIND_NAMES[kind])
    if kind == "tf_dataset":
        return _shift_tf_dataset(x, preprocessor), None, kwargs
    if kind == "py_dataset":
        return _TeacherForcingPyDataset(x, preprocessor), None, kwargs
    if kind == "generator":
        return (_shift_batch(batch, preprocessor) for batch in x), None, kwargs
    if y is None:
        raise ValueError(
            "`fit`/`evaluate` need token ids: pass `y=captioner.tokenize("
            "captions)` with the images, or a dataset of (images, token_ids)."
        )
    kwargs = dict(kwargs)
    inputs, targets, kwargs["sample_weight"] = preprocessor(
        x, y, kwargs.get("sample_weight")
    )
    return inputs, targets, kwargs


def teacher_forcing_validation(validation_data, preprocessor):
    if isinstance(validation_data, (tuple, list)):
        if len(validation_data) != 2:
            raise ValueError(
                "`validation_data` must be (images, token_ids) or a dataset. "
                f"Received a sequence of length {len(validation_data)}."
            )
        x, y, kwargs = teacher_forcing_inputs(
            validation_data[0], validation_data[1], {}, preprocessor
        )
        return (x, y, kwargs["sample_weight"])
    x, _, _ = teacher_forcing_inputs(validation_data, None, {}, preprocessor)
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


def _shift_tf_dataset(dataset, preprocessor):
    spec = dataset.element_spec
    if isinstance(spec, tuple) and isinstance(spec[0], dict):
        return dataset
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ValueError(
            "A dataset passed to `fit` must yield (images, token_ids) "
            f"batches. Its element_spec is {spec}."
        )
    return dataset.map(preprocessor.teacher_forcing)


def _shift_batch(batch, preprocessor):
    if isinstance(batch, tuple) and isinstance(batch[0], dict):
        return batch
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError(
            "Training batches must be (images, token_ids) pairs. Received "
            f"a batch of type {type(batch).__name__}."
        )
    images, token_ids = batch
    token_ids = check_token_ids(token_ids, "token_ids")
    return preprocessor.teacher_forcing(images, token_ids)


class _TeacherForcingPyDataset(keras.utils.PyDataset):
    """Wraps a PyDataset of `(images, token_ids)` with the shift applied."""

    def __init__(self, dataset, preprocessor):
        super().__init__(
            workers=dataset.workers,
            use_multiprocessing=dataset.use_multiprocessing,
            max_queue_size=dataset.max_queue_size,
        )
        self._dataset = dataset
        self._preprocessor = preprocessor

    def __len__(self):
        return len(self._dataset)

    @property
    def num_batches(self):
        return self._dataset.num_batches

    def __getitem__(self, index):
        return _shift_batch(self._dataset[index], self._preprocessor)

    def on_epoch_begin(self):
        self._dataset.on_epoch_begin()

    def on_epoch_end(self):
        self._dataset.on_epoch_end()


def reference_pair(validation_data):
    """`(images, references)` validation data of `fit_self_critical`."""
    if not isinstance(validation_data, (tuple, list)) or (
        len(validation_data) != 2
    ):
        raise ValueError(
            "`validation_data` must be a tuple `(images, references)`. "
            f"Received: {type(validation_data).__name__}"
        )
    images = np.asarray(validation_data[0])
    return images, reference_lists(validation_data[1], len(images))


def reference_lists(references, count):
    """One list of str per image, from lists, arrays, str or bytes."""
    if isinstance(references, np.ndarray):
        references = references.tolist()
    if isinstance(references, (list, tuple)):
        references = [
            [t.decode() if isinstance(t, bytes) else t for t in captions]
            for captions in (
                [entry] if isinstance(entry, (str, bytes)) else entry
                for entry in references
            )
        ]
    return _validation.check_references(references, count)


class ReferenceBatches:
    """Batch `index` of `(images, references)`, the data of
    `fit_self_critical`: from arrays, by a seeded `RowBatcher` that fills
    the last batch up (one shape every step); from a `PyDataset`, by index;
    from a `tf.data.Dataset`, in order (Keras asks for an epoch's batches
    in order), restarting at index 0."""

    def __init__(self, x, references, batch_size, shuffle, seed):
        self.kind = data_kind(x)
        self.x = x
        self.batch_size = batch_size
        self.iterator = None
        if self.kind == "arrays":
            if references is None:
                raise ValueError(
                    "`references` is needed: one list of caption strings "
                    "per image."
                )
            self.x = _validation.to_numpy(x, "x")
            if self.x.ndim < 2 or len(self.x) == 0:
                raise ValueError(
                    "`images` must be a non-empty batch of images. Received "
                    f"shape {self.x.shape}."
                )
            self.references = reference_lists(references, len(self.x))
            self.rows = RowBatcher(
                len(self.x), batch_size, shuffle, seed, fill_last=True
            )
            self.num_batches = len(self.rows)
            return
        if self.kind not in ("tf_dataset", "py_dataset"):
            raise TypeError(
                "`x` must be images, a `tf.data.Dataset` or a "
                "`keras.utils.PyDataset` of `(images, references)` batches. "
                f"Received: {type(x).__name__}"
            )
        if references is not None:
            raise ValueError(
                "With a dataset, `references` are part of the dataset's "
                "`(images, references)` batches; do not pass them "
                "separately."
            )
        py_dataset = self.kind == "py_dataset"
        self.num_batches = len(x) if py_dataset else sum(1 for _ in x)
        if not self.num_batches:
            raise ValueError(
                "The dataset passed to `fit_self_critical` must yield a "
                f"known, non-zero number of batches. Received "
                f"{self.num_batches}."
            )

    def batch(self, index):
        if self.kind == "arrays":
            part = self.rows[index]
            return self.x[part], [self.references[i] for i in part]
        if self.kind == "py_dataset":
            item = self.x[index]
        else:
            if index == 0 or self.iterator is None:
                self.iterator = self.x.as_numpy_iterator()
            item = next(self.iterator)
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(
                "A dataset for `fit_self_critical` must yield "
                "`(images, references)` batches."
            )
        images = keras.ops.convert_to_numpy(item[0])
        if len(images) > self.batch_size:
            raise ValueError(
                f"The dataset yields batches of {len(images)} images, "
                f"more than batch_size={self.batch_size}. Pass the "
                "dataset's batch size as `batch_size`."
            )
        return images, reference_lists(item[1], len(images))

    def all_references(self):
        if self.kind == "arrays":
            return self.references
        return [
            refs for i in range(self.num_batches) for refs in self.batch(i)[1]
        ]

    def on_epoch_end(self):
        if self.kind == "arrays":
            self.rows.on_epoch_end()
        elif self.kind == "py_dataset":
            self.x.on_epoch_end()
