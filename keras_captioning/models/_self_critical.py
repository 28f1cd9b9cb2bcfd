"""Self-critical sequence training (SCST) of an `ImageCaptioner`, as Keras
training.

After cross-entropy training, SCST optimises the test metric directly with
REINFORCE (Rennie et al., "Self-critical Sequence Training for Image
Captioning", CVPR 2017). For each image the model samples captions with its
compiled sampler, each is rewarded with CIDEr-D against the image's
references, and the log-probabilities of the sampled tokens are pushed up in
proportion to how much the reward beats a baseline.

Nothing here is a training loop. Sampling and rewards are the *data*:
`SampledCaptions`, a `keras.utils.PyDataset`, draws the captions of a batch
with the current weights when Keras asks for the batch, scores them in
NumPy and returns `(inputs, targets)` whose targets pack one advantage per
caption with the sampled ids. The update is the *loss*:
`keras_captioning.losses.SelfCriticalLoss`. `keras.Model.fit` of the
captioner itself runs the phase, so callbacks, distribution and the progress
bar are Keras's own. The logs `reward`, `baseline_reward` and `val_CIDEr-D`
come from callbacks placed in front of the user's.
"""

import contextlib

import keras
import numpy as np

from keras_captioning import _validation
from keras_captioning.data import RowBatcher
from keras_captioning.generation.random_sampler import RandomSampler
from keras_captioning.losses.self_critical_loss import SelfCriticalLoss
from keras_captioning.metrics.cider import CiderD
from keras_captioning.models import _training_data

__all__ = ["SelfCriticalLoss", "fit_self_critical", "sampled_targets"]

BASELINES = ("mean", "greedy")
# The phase's default optimizer: a fresh Adam at a twentieth of the
# cross-entropy rate (docs/self_critical.rst, "Why these defaults").
DEFAULT_LEARNING_RATE = 5e-5


def sampled_targets(token_ids, advantages, end_token_id, max_words):
    """Packs sampled captions and advantages into `SelfCriticalLoss` targets.

    Args:
        token_ids: int array `(n, steps)` from `generate` (no start token).
        advantages: float array `(n,)`.
        end_token_id: int.
        max_words: int, the number of words after which the loop forces the
            end token.

    Returns:
        A float32 array `(n, 1 + steps)`.
    """
    token_ids = np.asarray(token_ids)
    steps = token_ids.shape[1]
    is_end = token_ids == end_token_id
    first_end = np.where(is_end.any(axis=1), is_end.argmax(axis=1), steps)
    position = np.arange(steps)[None, :]
    counted = (position <= first_end[:, None]) & (position < max_words)
    targets = np.where(counted, token_ids, -1)
    return np.concatenate(
        [np.asarray(advantages, np.float32)[:, None], targets], axis=1
    ).astype(np.float32)


def fit_self_critical(
    captioner,
    x,
    references=None,
    epochs=1,
    batch_size=16,
    num_samples=5,
    baseline="mean",
    reward=None,
    validation_data=None,
    callbacks=None,
    verbose="auto",
    shuffle=True,
    optimizer=None,
    temperature=1.0,
    initial_epoch=0,
    validation_batch_size=100,
    keep_best_weights=True,
):
    """See `ImageCaptioner.fit_self_critical`."""
    epochs = _validation.check_int("epochs", epochs)
    initial_epoch = _validation.check_int(
        "initial_epoch", initial_epoch, minimum=0
    )
    batch_size = _validation.check_int("batch_size", batch_size)
    num_samples = _validation.check_int("num_samples", num_samples)
    validation_batch_size = _validation.check_int(
        "validation_batch_size", validation_batch_size
    )
    baseline = _validation.check_choice("baseline", baseline, BASELINES)
    shuffle = _validation.check_bool("shuffle", shuffle)
    keep_best_weights = _validation.check_bool(
        "keep_best_weights", keep_best_weights
    )
    if baseline == "mean" and num_samples < 2:
        raise ValueError(
            "`baseline='mean'` compares each sample with the other samples "
            "of its image, so it needs `num_samples` >= 2. Received: "
            f"num_samples={num_samples}"
        )
    if getattr(captioner, "optimizer", None) is None:
        raise ValueError(
            "`fit_self_critical` follows cross-entropy training, and the "
            "captioner is not compiled. Call `captioner.compile()` (and "
            "`fit`) first."
        )
    if optimizer is None:
        optimizer = keras.optimizers.Adam(DEFAULT_LEARNING_RATE, clipnorm=5.0)
    elif not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(
            "`optimizer` must be None (a fresh Adam at "
            f"{DEFAULT_LEARNING_RATE}) or a `keras.optimizers.Optimizer` "
            "(`captioner.optimizer` continues with the one of `compile()`)."
            f" Received: optimizer={optimizer!r}"
        )

    source = _image_batches(x, references, batch_size, shuffle)
    if reward is None:
        reward = CiderD(source.all_references())
    elif not callable(reward):
        raise TypeError(
            "`reward` must be None (CIDEr-D with document frequencies from "
            "the training references) or a callable `reward(hypotheses, "
            f"references) -> array`. Received: reward={reward!r}"
        )
    data = SampledCaptions(
        captioner,
        source,
        reward=reward,
        num_samples=num_samples,
        baseline=baseline,
        sampler=RandomSampler(temperature=temperature),
    )
    own_callbacks = [_SampleLogs(data)]
    closing_callbacks = []
    if validation_data is not None:
        scorer = _ValidationReward(
            captioner, reward, _validation_pair(validation_data)
        )
        scorer.batch_size = validation_batch_size
        own_callbacks.append(scorer)
        if keep_best_weights:
            # After the user's callbacks, so that it scores the weights a
            # `BackupAndRestore` has restored, and has the last word.
            closing_callbacks.append(_KeepBestWeights(scorer))

    tokenizer = captioner.tokenizer
    compiled = _compile_arguments(captioner)
    keras.Model.compile(
        captioner,
        optimizer=optimizer,
        loss=SelfCriticalLoss(
            (tokenizer.pad_id, tokenizer.start_id, tokenizer.unknown_id)
        ),
        # No metrics of cross-entropy training: their targets are not these.
        metrics=[],
        jit_compile=compiled["jit_compile"],
        run_eagerly=compiled["run_eagerly"],
    )
    try:
        return keras.Model.fit(
            captioner,
            data,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=own_callbacks + list(callbacks or []) + closing_callbacks,
            verbose=verbose,
            # The batches shuffle themselves (`fit` would reorder indices
            # of a dataset that reads its source in order).
            shuffle=False,
        )
    finally:
        # The captioner goes back to cross-entropy training, its optimizer
        # and that optimizer's state as they were.
        keras.Model.compile(captioner, **compiled)


class SampledCaptions(keras.utils.PyDataset):
    """Batches of captions sampled with the current weights, with rewards.

    `__getitem__(index)` takes batch `index` of images and references,
    samples `num_samples` captions per image with the captioner's compiled
    sampler, scores them with `reward` in NumPy, subtracts the baseline
    and returns `({"images", "token_ids"}, targets)`, the teacher-forcing
    inputs of the sampled captions and the `SelfCriticalLoss` targets.
    The mean reward and baseline of each batch are kept in `records`.

    Sampling reads the weights of the moment Keras asks for the batch: on
    JAX, where `fit` moves the weights out of the variables during an
    epoch, from the trainer's state (see `_current_weights`).
    """

    def __init__(
        self, captioner, source, reward, num_samples, baseline, sampler
    ):
        super().__init__()
        self.captioner = captioner
        self.source = source
        self.reward = reward
        self.num_samples = num_samples
        self.baseline = baseline
        self.sampler = sampler
        self.records = {}
        self.epoch_start_weights = None

    def __len__(self):
        return self.source.num_batches

    @property
    def num_batches(self):
        return self.source.num_batches

    def __getitem__(self, index):
        images, references = self.source.batch(index)
        captioner = self.captioner
        count = len(images)
        repeated_images = np.repeat(images, self.num_samples, axis=0)
        repeated_references = [
            refs for refs in references for _ in range(self.num_samples)
        ]
        with _current_weights(self, self.sampler):
            # The same padded batch size every step, so the compiled
            # sampler is traced once.
            token_ids = captioner.generate(
                repeated_images,
                strategy=self.sampler,
                batch_size=self.source.batch_size * self.num_samples,
            )
            if self.baseline == "greedy":
                greedy_ids = captioner.generate(
                    images,
                    strategy="greedy",
                    batch_size=self.source.batch_size,
                )
        rewards = _rewards(
            self.reward, captioner.detokenize(token_ids), repeated_references
        )
        grouped = rewards.reshape(count, self.num_samples)
        if self.baseline == "mean":
            # Leave-one-out mean: each sample is compared with the others
            # of its image, so the baseline does not depend on the sample.
            baselines = (grouped.sum(axis=1, keepdims=True) - grouped) / (
                self.num_samples - 1
            )
        else:
            greedy = _rewards(
                self.reward, captioner.detokenize(greedy_ids), references
            )
            baselines = np.repeat(greedy[:, None], self.num_samples, axis=1)
        advantages = (grouped - baselines).reshape(-1)
        self.records[index] = (float(rewards.mean()), float(baselines.mean()))
        targets = sampled_targets(
            token_ids,
            advantages,
            captioner.tokenizer.end_id,
            captioner.max_length,
        )
        start = np.full(
            (len(token_ids), 1), captioner.tokenizer.start_id, token_ids.dtype
        )
        inputs = {
            "images": repeated_images,
            "token_ids": np.concatenate([start, token_ids[:, :-1]], axis=1),
        }
        return inputs, targets

    def on_epoch_end(self):
        self.source.on_epoch_end()


@contextlib.contextmanager
def _current_weights(data, sampler):
    """Makes generation read the weights `fit` is training.

    On TensorFlow and PyTorch the variables always hold them. Keras's JAX
    trainer empties the variables at the first step of an epoch and keeps
    the values in `model._jax_state` (filled after every step) until the
    epoch ends; generation then runs in a `StatelessScope` over those
    values, and the sampler's seed update is carried out of the scope.
    Before the first step's state exists, the values are those saved when
    the epoch began (`_SampleLogs.on_epoch_begin`).
    """
    model = data.captioner
    if keras.backend.backend() != "jax" or getattr(
        model, "_jax_state_synced", True
    ):
        yield
        return
    state = getattr(model, "_jax_state", None)
    if state:
        data.epoch_start_weights = None
        trainable = state["trainable_variables"]
        non_trainable = state["non_trainable_variables"]
    else:
        trainable, non_trainable = data.epoch_start_weights
    mapping = list(zip(model.trainable_variables, trainable)) + list(
        zip(model.non_trainable_variables, non_trainable)
    )
    with keras.StatelessScope(state_mapping=mapping) as scope:
        yield
        updates = [
            (variable, scope.get_current_value(variable))
            for variable in sampler.variables
        ]
    for variable, value in updates:
        if value is not None:
            variable.assign(value)


class _SampleLogs(keras.callbacks.Callback):
    """Adds `reward` and `baseline_reward` (means over the epoch so far)."""

    def __init__(self, data):
        super().__init__()
        self.data = data

    def on_epoch_begin(self, epoch, logs=None):
        self.data.records.clear()
        if keras.backend.backend() == "jax":
            self.data.epoch_start_weights = (
                [v.value for v in self.model.trainable_variables],
                [v.value for v in self.model.non_trainable_variables],
            )

    def _means(self, last_batch):
        records = [
            value
            for index, value in self.data.records.items()
            if last_batch is None or index <= last_batch
        ]
        if not records:
            return {}
        rewards, baselines = zip(*records)
        return {
            "reward": float(np.mean(rewards)),
            "baseline_reward": float(np.mean(baselines)),
        }

    def on_train_batch_end(self, batch, logs=None):
        if logs is not None:
            logs.update(self._means(batch))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(self._means(self.data.num_batches - 1))


class _ValidationReward(keras.callbacks.Callback):
    """Adds `val_CIDEr-D`, the reward of greedy validation captions."""

    def __init__(self, captioner, reward, validation):
        super().__init__()
        self.captioner = captioner
        self.images, self.references = validation
        self.scorer = (
            reward if isinstance(reward, CiderD) else CiderD(self.references)
        )
        self.batch_size = 100

    def score(self):
        token_ids = self.captioner.generate(
            self.images, strategy="greedy", batch_size=self.batch_size
        )
        captions = self.captioner.detokenize(token_ids)
        return float(self.scorer(captions, self.references).mean())

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["val_CIDEr-D"] = self.score()


class _KeepBestWeights(keras.callbacks.Callback):
    """Ends the phase with the weights of its best validation reward.

    The weights the phase started from count as a candidate, so a phase
    that only loses ends where it began.
    """

    def __init__(self, scorer):
        super().__init__()
        self.scorer = scorer

    def on_train_begin(self, logs=None):
        self.best = self.scorer.score()
        self.best_weights = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get("val_CIDEr-D")
        if value is not None and value > self.best:
            self.best = value
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        self.model.set_weights(self.best_weights)


def _compile_arguments(captioner):
    """The arguments that recompile the captioner as it is, state and all."""
    config = keras.saving.deserialize_keras_object(
        captioner.get_compile_config()
    )
    config["optimizer"] = captioner.optimizer
    config["loss"] = captioner.loss
    return config


def _rewards(reward, hypotheses, references):
    values = np.asarray(reward(hypotheses, references), dtype=np.float64)
    if values.shape != (len(hypotheses),):
        raise ValueError(
            "`reward(hypotheses, references)` must return one number per "
            f"hypothesis: expected shape ({len(hypotheses)},), received "
            f"{values.shape}."
        )
    return values


def _validation_pair(validation_data):
    if not isinstance(validation_data, (tuple, list)) or (
        len(validation_data) != 2
    ):
        raise ValueError(
            "`validation_data` must be a tuple `(images, references)`. "
            f"Received: {type(validation_data).__name__}"
        )
    images, references = validation_data
    return np.asarray(images), _reference_lists(references, len(images))


def _reference_lists(references, count):
    """One list of str per image, from lists, arrays or bytes."""
    if isinstance(references, np.ndarray):
        references = references.tolist()
    if not isinstance(references, (list, tuple)) or len(references) != count:
        raise ValueError(
            "`references` must hold one list of caption strings per image: "
            f"expected {count} entries, received "
            f"{type(references).__name__}"
            + (
                f" of length {len(references)}"
                if hasattr(references, "__len__")
                else ""
            )
        )
    result = []
    for entry in references:
        if isinstance(entry, (str, bytes)):
            entry = [entry]
        result.append(
            [
                text.decode("utf-8") if isinstance(text, bytes) else text
                for text in entry
            ]
        )
    return result


def _image_batches(x, references, batch_size, shuffle):
    kind = _training_data.data_kind(x)
    if kind in ("tf_dataset", "py_dataset"):
        if references is not None:
            raise ValueError(
                "With a dataset, `references` are part of the dataset's "
                "`(images, references)` batches; do not pass them "
                "separately."
            )
        return _DatasetBatches(x, kind, batch_size)
    if kind != "arrays":
        raise TypeError(
            "`x` must be images, a `tf.data.Dataset` or a "
            "`keras.utils.PyDataset` of `(images, references)` batches. "
            f"Received: {type(x).__name__}"
        )
    if references is None:
        raise ValueError(
            "`references` is needed: one list of caption strings per image."
        )
    return _ArrayBatches(x, references, batch_size, shuffle)


class _ArrayBatches:
    """Batches of `(images, references)` from arrays, reshuffled per epoch.

    The last batch of an epoch is filled up from the epoch's start, so every
    step has one shape and the compiled step is traced once.
    """

    def __init__(self, images, references, batch_size, shuffle):
        self.images = _validation.to_numpy(images, "x")
        if self.images.ndim < 2 or len(self.images) == 0:
            raise ValueError(
                "`images` must be a non-empty batch of images. Received "
                f"shape {self.images.shape}."
            )
        self.references = _reference_lists(references, len(self.images))
        self.batch_size = batch_size
        self.batches = RowBatcher(
            len(self.images), batch_size, shuffle, fill_last=True
        )
        self.num_batches = len(self.batches)

    def on_epoch_end(self):
        self.batches.on_epoch_end()

    def batch(self, index):
        part = self.batches[index]
        return self.images[part], [self.references[i] for i in part]

    def all_references(self):
        return self.references


class _DatasetBatches:
    """Batches of `(images, references)` from a user's dataset.

    A `PyDataset` is indexed; a `tf.data.Dataset` is read in order (Keras
    asks for the batches of an epoch in order), restarting at index 0.
    """

    def __init__(self, dataset, kind, batch_size):
        self.dataset = dataset
        self.kind = kind
        self.batch_size = batch_size
        self._iterator = None
        if kind == "py_dataset":
            self.num_batches = dataset.num_batches
        else:
            self.num_batches = sum(1 for _ in dataset)
        if not self.num_batches:
            raise ValueError(
                "The dataset passed to `fit_self_critical` must yield a "
                f"known, non-zero number of batches. Received "
                f"{self.num_batches}."
            )

    def batch(self, index):
        if self.kind == "py_dataset":
            item = self.dataset[index]
        else:
            if index == 0 or self._iterator is None:
                self._iterator = self.dataset.as_numpy_iterator()
            item = next(self._iterator)
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
        return images, _reference_lists(item[1], len(images))

    def on_epoch_end(self):
        if self.kind == "py_dataset":
            self.dataset.on_epoch_end()

    def all_references(self):
        return [
            refs
            for index in range(self.num_batches)
            for refs in self.batch(index)[1]
        ]
