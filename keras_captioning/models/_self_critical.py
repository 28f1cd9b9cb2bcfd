"""Self-critical sequence training (SCST) of an `ImageCaptioner`.

After cross-entropy training, SCST optimises the test metric directly with
REINFORCE (Rennie et al., "Self-critical Sequence Training for Image
Captioning", CVPR 2017). For each image the model samples captions with its
compiled sampler, each is rewarded with CIDEr-D against the image's
references, and the log-probabilities of the sampled tokens are pushed up in
proportion to how much the reward beats a baseline.

The update is an ordinary Keras training step: a teacher-forced forward pass
of the sampled captions through the captioner, with `SelfCriticalLoss`,
through `train_on_batch` of a thin model that shares the captioner's layers
and optimizer. Keras's trainer computes the gradient on every backend; this
module has no backend branch.
"""

import math

import keras
import numpy as np
from keras import ops

from keras_captioning import _validation
from keras_captioning.generation.random_sampler import RandomSampler
from keras_captioning.metrics.cider import CiderD

BASELINES = ("mean", "greedy")
# Banned tokens get this logit, as the sampler gives them -inf: exp() of
# it is exactly 0 in float32, and it keeps gradients finite.
_BANNED_LOGIT = -1e9


@keras.saving.register_keras_serializable(package="keras_captioning")
class SelfCriticalLoss(keras.losses.Loss):
    """The self-critical policy-gradient loss of sampled captions.

    For each caption, `-advantage * sum(log p(token)) / num_counted`, where
    the sum runs over the tokens the sampler chose, up to and including the
    end token, and `log p` is `log_softmax` of the logits with the banned
    tokens masked out, as in sampling; the result is averaged over the
    captions of the batch.

    `y_true` packs, per caption, the advantage (column 0) and the sampled
    token ids (columns 1 to `steps`), with `-1` at the steps that do not
    count: the steps after the end token and a token the loop forced (the
    end token after `max_length` words).

    Args:
        banned_token_ids: sequence of ints, the tokens sampling never
            chooses (pad, start, unknown).
        **kwargs: passed to `keras.losses.Loss` (`name`, `dtype`).

    Call arguments:
        y_true: float tensor `(batch, 1 + steps)`.
        y_pred: float tensor `(batch, steps, vocabulary_size)`, the logits.

    Returns:
        A scalar, the mean over the batch of the per-caption losses.

    Example:

    >>> from keras_captioning.models._self_critical import SelfCriticalLoss
    >>> loss = SelfCriticalLoss(banned_token_ids=(0, 1))
    >>> logits = np.zeros((1, 3, 4), "float32")  # 2 allowed tokens
    >>> y_true = np.array([[2.0, 3, 2, -1]], "float32")  # 2 counted
    >>> round(float(loss(y_true, logits)), 4)  # -2 * (2 * log(1/2)) / 2
    1.3863
    """

    def __init__(self, banned_token_ids=(0, 1, 3), **kwargs):
        super().__init__(**kwargs)
        self.banned_token_ids = tuple(
            _validation.check_token_id("banned_token_ids", token_id)
            for token_id in banned_token_ids
        )

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "float32")
        advantage = y_true[:, 0]
        targets = ops.cast(y_true[:, 1:], "int32")
        logits = ops.cast(y_pred, "float32")
        vocabulary = ops.arange(ops.shape(logits)[-1])
        banned = ops.zeros_like(vocabulary, dtype="bool")
        for token_id in self.banned_token_ids:
            banned = ops.logical_or(banned, ops.equal(vocabulary, token_id))
        logits = ops.where(banned, _BANNED_LOGIT, logits)
        log_probs = ops.log_softmax(logits, axis=-1)
        counted = ops.greater_equal(targets, 0)
        chosen = ops.take_along_axis(
            log_probs, ops.expand_dims(ops.maximum(targets, 0), -1), axis=-1
        )[..., 0]
        chosen = ops.where(counted, chosen, 0.0)
        num_counted = ops.maximum(
            ops.sum(ops.cast(counted, "float32"), axis=-1), 1.0
        )
        return -advantage * ops.sum(chosen, axis=-1) / num_counted

    def __call__(self, y_true, y_pred, sample_weight=None):
        # Keras's reduction would apply the mask the logits carry to the
        # per-caption losses; the batch mean is taken here instead.
        losses = self.call(y_true, y_pred)
        if sample_weight is not None:
            losses = losses * ops.cast(sample_weight, "float32")
        if self.reduction in ("none", None):
            return losses
        if self.reduction == "sum":
            return ops.sum(losses)
        return ops.mean(losses)

    def get_config(self):
        config = super().get_config()
        config["banned_token_ids"] = list(self.banned_token_ids)
        return config


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


class _SelfCriticalModel(keras.Model):
    """Shares the captioner's layers; trains them with `SelfCriticalLoss`.

    The forward pass runs in inference mode (no dropout, batch
    normalisation with its moving statistics), as sampling does, so the
    log-probabilities are those of the distribution the captions were
    drawn from.
    """

    def __init__(self, captioner, **kwargs):
        super().__init__(**kwargs)
        self.captioner = captioner

    def call(self, inputs, training=None):
        return self.captioner(inputs, training=False)


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
    if baseline == "mean" and num_samples < 2:
        raise ValueError(
            "`baseline='mean'` compares each sample with the other samples "
            "of its image, so it needs `num_samples` >= 2. Received: "
            f"num_samples={num_samples}"
        )
    if verbose == "auto":
        verbose = 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(
            "`verbose` must be 'auto', 0, 1 or 2. "
            f"Received: verbose={verbose!r}"
        )
    if optimizer is None:
        if getattr(captioner, "optimizer", None) is None:
            raise ValueError(
                "`fit_self_critical` continues with the optimizer of "
                "`compile()`, and the captioner is not compiled. Call "
                "`captioner.compile()` first or pass `optimizer=`."
            )
        optimizer = captioner.optimizer

    data = _TrainingData(x, references, batch_size, shuffle)
    if reward is None:
        reward = CiderD(data.all_references())
    elif not callable(reward):
        raise TypeError(
            "`reward` must be None (CIDEr-D with document frequencies from "
            "the training references) or a callable `reward(hypotheses, "
            f"references) -> array`. Received: reward={reward!r}"
        )
    validation = None
    if validation_data is not None:
        validation = _validation_pair(validation_data)

    tokenizer = captioner.tokenizer
    max_words = captioner.max_length
    sampler = RandomSampler(temperature=temperature)
    trainer = _SelfCriticalModel(captioner, name="self_critical")
    trainer.compile(
        optimizer=optimizer,
        loss=SelfCriticalLoss(
            (tokenizer.pad_id, tokenizer.start_id, tokenizer.unknown_id)
        ),
        jit_compile=getattr(captioner, "jit_compile", "auto"),
        run_eagerly=getattr(captioner, "run_eagerly", False),
    )

    callback_list = keras.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=verbose != 0,
        model=captioner,
        verbose=verbose,
        epochs=epochs,
        steps=data.steps_per_epoch(),
    )
    captioner.stop_training = False
    callback_list.on_train_begin()
    logs = {}
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch)
        totals = {"loss": 0.0, "reward": 0.0, "baseline_reward": 0.0}
        step = 0
        for step, (images, image_references) in enumerate(data.batches()):
            callback_list.on_train_batch_begin(step)
            step_logs = _train_step(
                captioner,
                trainer,
                sampler,
                reward,
                images,
                image_references,
                num_samples,
                baseline,
                batch_size,
                max_words,
            )
            for key in totals:
                totals[key] += step_logs[key]
            logs = {key: value / (step + 1) for key, value in totals.items()}
            callback_list.on_train_batch_end(step, logs)
            if captioner.stop_training:
                break
        data.on_epoch_end()
        if validation is not None:
            logs["val_CIDEr-D"] = _validation_score(
                captioner, reward, validation, validation_batch_size
            )
        callback_list.on_epoch_end(epoch, logs)
        if captioner.stop_training:
            break
    callback_list.on_train_end(logs)
    return captioner.history


def _train_step(
    captioner,
    trainer,
    sampler,
    reward,
    images,
    image_references,
    num_samples,
    baseline,
    batch_size,
    max_words,
):
    count = len(images)
    repeated_images = np.repeat(images, num_samples, axis=0)
    repeated_references = [
        refs for refs in image_references for _ in range(num_samples)
    ]
    # The same padded batch size every step, so the compiled sampler is
    # traced once.
    token_ids = captioner.generate(
        repeated_images,
        strategy=sampler,
        batch_size=batch_size * num_samples,
    )
    rewards = _rewards(
        reward, captioner.detokenize(token_ids), repeated_references
    )
    grouped = rewards.reshape(count, num_samples)
    if baseline == "mean":
        # Leave-one-out mean: each sample is compared with the others of
        # its image, so the baseline does not depend on the sample itself.
        baselines = (grouped.sum(axis=1, keepdims=True) - grouped) / (
            num_samples - 1
        )
    else:
        greedy_ids = captioner.generate(
            images, strategy="greedy", batch_size=batch_size
        )
        greedy = _rewards(
            reward, captioner.detokenize(greedy_ids), image_references
        )
        baselines = np.repeat(greedy[:, None], num_samples, axis=1)
    advantages = (grouped - baselines).reshape(-1)
    targets = sampled_targets(
        token_ids, advantages, captioner.tokenizer.end_id, max_words
    )
    start = np.full(
        (len(token_ids), 1), captioner.tokenizer.start_id, token_ids.dtype
    )
    inputs = {
        "images": repeated_images,
        "token_ids": np.concatenate([start, token_ids[:, :-1]], axis=1),
    }
    result = trainer.train_on_batch(inputs, targets, return_dict=True)
    return {
        "loss": float(result["loss"]),
        "reward": float(rewards.mean()),
        "baseline_reward": float(baselines.mean()),
    }


def _rewards(reward, hypotheses, references):
    values = np.asarray(reward(hypotheses, references), dtype=np.float64)
    if values.shape != (len(hypotheses),):
        raise ValueError(
            "`reward(hypotheses, references)` must return one number per "
            f"hypothesis: expected shape ({len(hypotheses)},), received "
            f"{values.shape}."
        )
    return values


def _validation_score(captioner, reward, validation, batch_size):
    images, references = validation
    token_ids = captioner.generate(
        images, strategy="greedy", batch_size=batch_size
    )
    scorer = reward if isinstance(reward, CiderD) else CiderD(references)
    return float(scorer(captioner.detokenize(token_ids), references).mean())


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


class _TrainingData:
    """Batches of `(images, references)` from arrays or a dataset."""

    def __init__(self, x, references, batch_size, shuffle):
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.dataset = None
        if _is_tf_dataset(x) or isinstance(x, keras.utils.PyDataset):
            if references is not None:
                raise ValueError(
                    "With a dataset, `references` are part of the dataset's "
                    "`(images, references)` batches; do not pass them "
                    "separately."
                )
            self.dataset = x
            return
        if references is None:
            raise ValueError(
                "`references` is needed: one list of caption strings per image."
            )
        self.images = np.asarray(x)
        if self.images.ndim < 2 or len(self.images) == 0:
            raise ValueError(
                "`images` must be a non-empty batch of images. Received "
                f"shape {self.images.shape}."
            )
        self.references = _reference_lists(references, len(self.images))

    def steps_per_epoch(self):
        if self.dataset is None:
            return math.ceil(len(self.images) / self.batch_size)
        if isinstance(self.dataset, keras.utils.PyDataset):
            return self.dataset.num_batches
        cardinality = int(self.dataset.cardinality())
        return cardinality if cardinality > 0 else None

    def batches(self):
        if self.dataset is None:
            order = np.arange(len(self.images))
            if self.shuffle:
                np.random.shuffle(order)
            # The last batch is filled up from the front of the epoch, so
            # every step has the same shape and the compiled training step
            # is traced once.
            steps = self.steps_per_epoch()
            order = np.resize(order, steps * self.batch_size)
            for start in range(0, len(order), self.batch_size):
                index = order[start : start + self.batch_size]
                yield (
                    self.images[index],
                    [self.references[i] for i in index],
                )
            return
        if isinstance(self.dataset, keras.utils.PyDataset):
            items = (
                self.dataset[index] for index in range(self.dataset.num_batches)
            )
        else:
            items = self.dataset.as_numpy_iterator()
        for item in items:
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
            yield images, _reference_lists(item[1], len(images))

    def on_epoch_end(self):
        if isinstance(self.dataset, keras.utils.PyDataset):
            self.dataset.on_epoch_end()

    def all_references(self):
        if self.dataset is None:
            return self.references
        return [refs for _, batch in self.batches() for refs in batch]


def _is_tf_dataset(x):
    module = type(x).__module__ or ""
    return module.startswith("tensorflow") and hasattr(x, "as_numpy_iterator")
