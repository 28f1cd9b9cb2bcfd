"""`ImageCaptioner.fit_on_features`: train the decoder on cached features.

With a frozen encoder, an image's features never change, so they are
computed once (`keras_captioning.data.cache_features`) and the decoder
half of the captioner trains on them, many times faster than running the
CNN every step. The decoder half is a second `ImageCaptioner` with
`encoder=None` that holds the captioner's own `feature_to_sequence` and
`decoder` layers: training it trains them, so nothing is copied back and
a `BackupAndRestore` of that model restores the captioner's layers.
"""

import keras
import numpy as np

from keras_captioning import _validation
from keras_captioning.data import RowBatcher


def fit_on_features(
    captioner,
    x,
    references,
    cache_dir,
    *,
    batch_size,
    seed,
    validation_data=None,
    verbose="auto",
    **fit_kwargs,
):
    if captioner.encoder is None:
        raise ValueError(
            "`fit_on_features` computes features with the captioner's "
            "encoder; this captioner has `encoder=None` and reads features "
            "already: call `fit(features, token_ids)` instead."
        )
    if getattr(captioner, "optimizer", None) is None:
        raise ValueError(
            "The captioner must be compiled before `fit_on_features`: call "
            "`captioner.compile()` first."
        )
    _validation.check_int("batch_size", batch_size)
    if validation_data is not None and (
        not isinstance(validation_data, (tuple, list))
        or len(validation_data) != 2
    ):
        raise ValueError(
            "`validation_data` must be a pair `(images, references)`. "
            f"Received: validation_data={validation_data!r}"
        )
    image_size = captioner.preprocessor.target_size
    if image_size is not None:
        image_size = tuple(image_size)
    if image_size is None and isinstance(x, np.ndarray) and x.ndim == 4:
        # Every image keeps this size: the model is built for it, so its
        # optimizer can be built and take the cached phase's state.
        build_size = x.shape[1:3]
    else:
        build_size = image_size
    if build_size is not None and not captioner.built:
        captioner.build(
            {"images": (None, *build_size, 3), "token_ids": (None, None)}
        )
    # `cache_features` feeds uint8 images, so the scaling runs inside.
    extractor = keras.Sequential(
        [captioner.preprocessing, captioner.encoder], name="feature_extractor"
    )

    def rows(images, captions, shuffle):
        from keras_captioning import data

        features = data.cache_features(
            extractor,
            images,
            cache_dir,
            batch_size=batch_size,
            image_size=image_size,
            mmap_mode="r",
            verbose=1 if verbose else 0,
        )
        return FeatureRows(
            features, captions, captioner.tokenizer, batch_size, shuffle, seed
        )

    train_rows = rows(x, references, shuffle=True)
    head = type(captioner)(
        captioner.vocabulary,
        encoder=None,
        feature_to_sequence=captioner.feature_to_sequence,
        decoder=captioner.decoder,
        max_length=captioner.max_length,
        name=f"{captioner.name}_head",
    )
    # A fresh optimizer of the same configuration (the wrapped one, for an
    # `EncoderFineTuningOptimizer`: the head has no encoder): the
    # captioner's own keeps slots for all of its variables, encoder
    # included. Its step count and the decoder's slots go in and come back,
    # so the cached phase counts towards the fine-tuning schedule.
    source = captioner_inner_optimizer(captioner)
    optimizer = type(source).from_config(source.get_config())
    head.compile(
        optimizer=optimizer,
        loss=captioner.loss,
        metrics=compiled_metrics(captioner),
    )
    head.build(
        {
            "images": (None, *train_rows.features.shape[1:]),
            "token_ids": (None, None),
        }
    )
    optimizer.build(head.trainable_variables)
    if source.built:
        copy_optimizer_state(source, optimizer)
    if validation_data is not None:
        validation_data = rows(*validation_data, shuffle=False)
    history = head.fit(
        train_rows,
        validation_data=validation_data,
        verbose=verbose,
        # Rows are shuffled by `FeatureRows`, seeded; Keras would reorder
        # whole batches on top of that.
        shuffle=False,
        **fit_kwargs,
    )
    if captioner.built and not captioner.optimizer.built:
        # So the saved file holds an optimizer matching the model, and
        # fine-tuning end to end can continue from it.
        captioner.optimizer.build(captioner.trainable_variables)
    if source.built:
        copy_optimizer_state(optimizer, source)
    return history


def compiled_metrics(captioner):
    """Fresh copies of the captioner's compiled metrics, or `None`.

    The cached phase then reports what `fit` reports. Metrics that cannot
    be rebuilt from their config (a custom class that is not registered)
    are left out rather than stopping the training.
    """
    config = captioner.get_compile_config() or {}
    try:
        return keras.saving.deserialize_keras_object(config).get("metrics")
    except (TypeError, ValueError):
        return None


def captioner_inner_optimizer(captioner):
    """The optimizer that holds the captioner's step count and slots."""
    return getattr(captioner.optimizer, "inner_optimizer", captioner.optimizer)


def copy_optimizer_state(source, target):
    """Copies the step count and the slots of the variables both hold.

    Slots are named after the variable they serve (`add_variable_from_
    reference`), so a slot of the decoder has the same name in the head's
    optimizer and in the captioner's. The learning rate is left alone.
    """
    values = {
        variable.name: variable
        for variable in source.variables
        if variable.name != "learning_rate"
    }
    for variable in target.variables:
        match = values.get(variable.name)
        if match is not None and tuple(match.shape) == tuple(variable.shape):
            variable.assign(match.value)


class FeatureRows(keras.utils.PyDataset):
    """`(features, token_ids)` batches, one row per (image, caption) pair.

    Features are gathered batch by batch rather than repeated once per
    caption up front, which would multiply their memory by the number of
    captions. Epoch `e` is shuffled by a generator seeded by `(seed, e)`,
    as `keras_captioning.data.CaptionPyDataset` shuffles.
    """

    def __init__(
        self, features, references, tokenizer, batch_size, shuffle, seed
    ):
        super().__init__()
        if len(references) != len(features):
            raise ValueError(
                "`references` needs one list of captions per image. "
                f"Received: {len(references)} lists for {len(features)} images"
            )
        self.features = features
        counts = [len(captions) for captions in references]
        self.token_ids = tokenizer.tokenize(
            [caption for captions in references for caption in captions]
        )
        self.feature_rows = np.repeat(np.arange(len(references)), counts)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.batches = RowBatcher(
            len(self.token_ids), batch_size, shuffle, seed
        )
        self.seed = self.batches.seed

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        rows = self.batches[index]
        # Sorted rows keep reads from a memory-mapped cache sequential.
        rows = rows[np.argsort(self.feature_rows[rows], kind="stable")]
        features = self.features[self.feature_rows[rows]]
        return np.asarray(features), self.token_ids[rows]

    def on_epoch_end(self):
        self.batches.on_epoch_end()
