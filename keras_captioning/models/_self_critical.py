"""Self-critical sequence training (SCST) of an `ImageCaptioner`, as Keras
training (Rennie et al., "Self-critical Sequence Training for Image
Captioning", CVPR 2017).

Small objects that `keras.Model.fit` of the captioner runs: the data,
`SampledCaptions` (a `PyDataset`), samples captions for each batch with the
current weights and scores them with the reward (CIDEr-D against the
references by default) minus a baseline (`BASELINES`); the loss is
`keras_captioning.losses.SelfCriticalLoss`; callbacks add the logs
`reward`, `baseline_reward` and `val_CIDEr-D` and keep the best weights.
"""

import random

import keras
import numpy as np

from keras_captioning import _validation
from keras_captioning.generation.random_sampler import RandomSampler
from keras_captioning.losses.self_critical_loss import SelfCriticalLoss
from keras_captioning.metrics.cider import CiderD
from keras_captioning.models import _training_data

__all__ = ["SelfCriticalLoss", "fit_self_critical", "sampled_targets"]

# The phase's default optimizer: a fresh Adam at a twentieth of the
# cross-entropy rate (docs/self_critical.rst, "Why these defaults").
DEFAULT_LEARNING_RATE = 5e-5


def sampled_targets(token_ids, advantages, end_token_id, max_words):
    """Packs sampled captions and advantages into `SelfCriticalLoss` targets:
    float32 `(n, 1 + steps)`, the advantage then the ids, `-1` where a token
    does not count (after the end token, or the end forced after
    `max_words` words)."""
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


def mean_baseline(rewards, data, images, references):
    """Leave-one-out mean ("new self-critical"): each sample against the
    other samples of its image, so the baseline does not depend on it."""
    total = rewards.sum(axis=1, keepdims=True)
    return (total - rewards) / (rewards.shape[1] - 1)


def greedy_baseline(rewards, data, images, references):
    """The reward of each image's greedy caption (Rennie et al.)."""
    token_ids = data.generate(images, "greedy", data.source.batch_size)
    greedy = data.score(token_ids, references)
    return np.repeat(greedy[:, None], rewards.shape[1], axis=1)


BASELINES = {"mean": mean_baseline, "greedy": greedy_baseline}


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
    seed=None,
):
    """See `ImageCaptioner.fit_self_critical`."""
    _validation.check_int("epochs", epochs)
    _validation.check_int("initial_epoch", initial_epoch, 0)
    _validation.check_int("batch_size", batch_size)
    _validation.check_int("num_samples", num_samples)
    _validation.check_int("validation_batch_size", validation_batch_size)
    _validation.check_choice("baseline", baseline, tuple(BASELINES))
    _validation.check_bool("shuffle", shuffle)
    _validation.check_bool("keep_best_weights", keep_best_weights)
    # `None`: from Python's generator, which `keras.utils.set_random_seed`
    # seeds, so a seeded program shuffles and samples alike every run.
    seed = random.randrange(2**31) if seed is None else seed
    _validation.check_int("seed", seed, 0)
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
    source = _training_data.ReferenceBatches(
        x, references, batch_size, shuffle, seed
    )
    if reward is None:
        reward = CiderD(source.all_references())
    elif not callable(reward):
        raise TypeError(
            "`reward` must be None (CIDEr-D with document frequencies from "
            "the training references) or a callable `reward(hypotheses, "
            f"references) -> array`. Received: reward={reward!r}"
        )
    sampler = RandomSampler(temperature=temperature)
    # A stream of draws from `seed` (an int seed would draw alike each call).
    sampler.seed_generator = keras.random.SeedGenerator(seed)
    data = SampledCaptions(
        captioner, source, reward, num_samples, baseline, sampler
    )
    if validation_data is not None:
        validation_data = _training_data.reference_pair(validation_data)
    logs = _PhaseLogs(data, validation_data, validation_batch_size)
    # After the user's callbacks, to score the weights a `BackupAndRestore`
    # restored, and to have the last word.
    keep = validation_data is not None and keep_best_weights
    last = [_KeepBestWeights(logs)] if keep else []
    # The arguments that compile the captioner back as it is, optimizer
    # state included, once the phase ends.
    before = keras.saving.deserialize_keras_object(
        captioner.get_compile_config()
    )
    before.update(optimizer=captioner.optimizer, loss=captioner.loss)
    tokenizer = captioner.tokenizer
    banned = (tokenizer.pad_id, tokenizer.start_id, tokenizer.unknown_id)
    captioner.compile(
        optimizer=optimizer,
        loss=SelfCriticalLoss(banned),
        # No metrics of cross-entropy training: their targets are not these.
        metrics=[],
        jit_compile=before["jit_compile"],
        run_eagerly=before["run_eagerly"],
    )
    try:
        # Batches are model inputs already: `fit` passes them as they are.
        return captioner.fit(
            data.unprefetched() if _reads_ahead() else data,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=[logs, *(callbacks or []), *last],
            verbose=verbose,
            # The batches shuffle themselves, seeded.
            shuffle=False,
        )
    finally:
        captioner.compile(**before)


def _reads_ahead():
    """Whether `fit` would read a `PyDataset`'s batches ahead of its steps
    (TensorFlow prefetches them through `tf.data`)."""
    return keras.backend.backend() == "tensorflow"


class SampledCaptions(keras.utils.PyDataset):
    """Batch `index`: `num_samples` captions sampled per image with the
    current weights, scored in NumPy, as `({"images", "token_ids"},
    targets)`: the captions' teacher-forcing inputs from the preprocessor
    and `SelfCriticalLoss` targets. Means per batch go to `records`."""

    def __init__(
        self, captioner, source, reward, num_samples, baseline, sampler
    ):
        super().__init__()
        self.captioner = captioner
        self.source = source
        self.reward = reward
        self.num_samples = num_samples
        self.baseline = BASELINES[baseline]
        self.sampler = sampler
        self.records = {}
        # `(variable, value)` pairs of the weights being trained, set by
        # `_PhaseLogs` on JAX, where `fit` empties the variables.
        self.weights = None

    def __len__(self):
        return self.source.num_batches

    def __getitem__(self, index):
        captioner, count = self.captioner, self.num_samples
        images, references = self.source.batch(index)
        repeated = np.repeat(images, count, axis=0)
        for variable, value in self.weights or ():
            variable.assign(value)
        # One padded batch size every step: the sampler compiles once.
        token_ids = self.generate(
            repeated, self.sampler, self.source.batch_size * count
        )
        rewards = self.score(
            token_ids, [refs for refs in references for _ in range(count)]
        ).reshape(len(images), count)
        baselines = self.baseline(rewards, self, images, references)
        self.records[index] = (float(rewards.mean()), float(baselines.mean()))
        tokenizer = captioner.tokenizer
        start = np.full((len(token_ids), 1), tokenizer.start_id)
        whole = np.concatenate([start, token_ids], axis=1)
        inputs, _, _ = captioner.preprocessor.teacher_forcing(repeated, whole)
        advantages = (rewards - baselines).reshape(-1)
        return inputs, sampled_targets(
            token_ids, advantages, tokenizer.end_id, captioner.max_length
        )

    def generate(self, images, strategy, batch_size):
        return self.captioner.generate(
            images, strategy=strategy, batch_size=batch_size
        )

    def score(self, token_ids, references):
        hypotheses = self.captioner.detokenize(token_ids)
        values = np.asarray(self.reward(hypotheses, references), np.float64)
        if values.shape != (len(hypotheses),):
            raise ValueError(
                "`reward(hypotheses, references)` must return one number per "
                f"hypothesis: expected shape ({len(hypotheses)},), received "
                f"{values.shape}."
            )
        return values

    def on_epoch_end(self):
        self.source.on_epoch_end()

    def unprefetched(self):
        """The batches as a `tf.data.Dataset` that reads none ahead: `fit`
        fetches each inside its step, after the step before has updated
        the weights, so every batch is sampled on-policy and a seed
        repeats the phase whatever the machine's load. (A prefetched
        `PyDataset` samples while the step before trains.) `_PhaseLogs`
        shuffles it at each epoch's end."""
        import tensorflow as tf

        def spec(array, shape):
            return tf.TensorSpec(shape, tf.as_dtype(array.dtype))

        # One batch shows the dtypes (Keras reads two for a `PyDataset`);
        # any batch size and caption length may follow.
        inputs, targets = self[0]
        images, token_ids = inputs["images"], inputs["token_ids"]
        signature = (
            {
                "images": spec(images, (None, *images.shape[1:])),
                "token_ids": spec(token_ids, (None, None)),
            },
            spec(targets, (None, None)),
        )
        dataset = tf.data.Dataset.from_generator(
            lambda: (self[index] for index in range(len(self))),
            output_signature=signature,
        )
        # tf.data would otherwise insert a prefetch of its own.
        options = tf.data.Options()
        options.autotune.enabled = False
        options.experimental_optimization.inject_prefetch = False
        dataset = dataset.with_options(options)
        return dataset.apply(tf.data.experimental.assert_cardinality(len(self)))


class _PhaseLogs(keras.callbacks.Callback):
    """Adds the logs `reward`, `baseline_reward` (means over the epoch so
    far) and, with validation data, `val_CIDEr-D` (greedy captions).

    Keras's JAX trainer empties the variables while a step reads its
    batch; at each batch's start this asks it to fill them
    (`jax_state_sync()`, its public hook for callbacks) and hands their
    values to the data, which puts them back to sample.
    """

    def __init__(self, data, validation_data, batch_size):
        super().__init__()
        self.data = data
        self.images, self.references = validation_data or (None, None)
        self.batch_size = batch_size
        reward = data.reward
        self.scorer = reward if isinstance(reward, CiderD) else None
        if validation_data is not None and self.scorer is None:
            self.scorer = CiderD(self.references)

    def on_epoch_begin(self, epoch, logs=None):
        self.data.records.clear()

    def on_train_batch_begin(self, batch, logs=None):
        if keras.backend.backend() == "jax":
            self.model.jax_state_sync()
            variables = (
                self.model.trainable_variables
                + self.model.non_trainable_variables
            )
            self.data.weights = [(v, v.value) for v in variables]

    def on_train_batch_end(self, batch, logs=None):
        self.log_means(logs, batch)

    def on_epoch_end(self, epoch, logs=None):
        self.data.weights = None
        if _reads_ahead():
            self.data.on_epoch_end()  # as Keras does for a `PyDataset`
        self.log_means(logs, len(self.data) - 1)
        if logs is not None and self.images is not None:
            logs["val_CIDEr-D"] = self.validation_score()

    def log_means(self, logs, last_batch):
        records = [v for i, v in self.data.records.items() if i <= last_batch]
        if logs is not None and records:
            rewards, baselines = zip(*records)
            logs["reward"] = float(np.mean(rewards))
            logs["baseline_reward"] = float(np.mean(baselines))

    def validation_score(self):
        token_ids = self.data.generate(self.images, "greedy", self.batch_size)
        captions = self.data.captioner.detokenize(token_ids)
        return float(self.scorer(captions, self.references).mean())


class _KeepBestWeights(keras.callbacks.Callback):
    """Ends the phase with the weights of its best validation reward, the
    starting weights included (a phase that only loses ends where it
    began)."""

    def __init__(self, phase_logs):
        super().__init__()
        self.phase_logs = phase_logs
        self.best = None
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.best = self.phase_logs.validation_score()
        self.best_weights = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get("val_CIDEr-D")
        if value is not None and value > self.best:
            self.best = value
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        self.model.set_weights(self.best_weights)
