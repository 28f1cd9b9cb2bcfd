"""How `ImageCaptioner` trains an encoder that carries trained weights.

The defaults were measured on the held-out digits task
(`benchmarks/heldout_pretrained_encoder.py`, docs/pretrained_encoder.rst).
"""

import keras

from keras_captioning import _validation
from keras_captioning.models import _feature_training
from keras_captioning.optimizers.encoder_fine_tuning_optimizer import (
    EncoderFineTuningOptimizer,
)

# Chosen on the held-out digits task (docs/pretrained_encoder.rst).
PRETRAINED_WARMUP_STEPS = 60
PRETRAINED_LEARNING_RATE_MULTIPLIER = 0.25


def carries_trained_weights(encoder, weights):
    """Whether an `encoder` argument arrives with trained weights.

    A name with `weights`, or a built Keras layer or model (a loaded
    `.keras` file, `keras.applications` with weights); an unbuilt layer has
    no weights to carry.
    """
    if weights is not None:
        return True
    return isinstance(encoder, keras.layers.Layer) and encoder.built


def resolve(
    encoder,
    weights,
    pretrained,
    learning_rate_multiplier,
    warmup_steps,
    inference_mode,
):
    """The four encoder settings, `None`s replaced by their defaults."""
    if pretrained is None:
        pretrained = carries_trained_weights(encoder, weights)
    _validation.check_bool("encoder_pretrained", pretrained)
    if learning_rate_multiplier is None:
        learning_rate_multiplier = (
            PRETRAINED_LEARNING_RATE_MULTIPLIER if pretrained else 1.0
        )
    learning_rate_multiplier = _validation.check_positive_float(
        "encoder_learning_rate_multiplier", learning_rate_multiplier
    )
    if warmup_steps is None:
        warmup_steps = PRETRAINED_WARMUP_STEPS if pretrained else 0
    warmup_steps = _validation.check_int(
        "encoder_warmup_steps", warmup_steps, minimum=0
    )
    if inference_mode is None:
        inference_mode = pretrained
    _validation.check_bool("encoder_inference_mode", inference_mode)
    return pretrained, learning_rate_multiplier, warmup_steps, inference_mode


def compile_optimizer(captioner, optimizer):
    """The optimizer `ImageCaptioner.compile` uses for `optimizer`.

    `"auto"` is Adam(1e-3, clipnorm=5), wrapped in an
    `EncoderFineTuningOptimizer` when the encoder trains on a schedule of
    its own. A wrapper (given, or restored from a `.keras` file) learns
    which variables are the encoder's.
    """
    if optimizer == "auto":
        optimizer = keras.optimizers.Adam(1e-3, clipnorm=5.0)
        scheduled = (
            captioner.encoder is not None
            and captioner.encoder_trainable
            and (
                captioner.encoder_warmup_steps > 0
                or captioner.encoder_learning_rate_multiplier != 1.0
            )
        )
        if scheduled:
            optimizer = EncoderFineTuningOptimizer(
                optimizer,
                encoder_learning_rate_multiplier=(
                    captioner.encoder_learning_rate_multiplier
                ),
                encoder_warmup_steps=captioner.encoder_warmup_steps,
            )
    inner = getattr(optimizer, "inner_optimizer", None)
    for candidate in (optimizer, inner):
        if isinstance(candidate, EncoderFineTuningOptimizer):
            candidate.set_encoder(captioner.encoder)
    return optimizer


# Keys of configs saved before these settings existed, and the values that
# reproduce how those models trained: jointly, at one learning rate.
OLD_CONFIG_DEFAULTS = {
    "encoder_pretrained": False,
    "encoder_learning_rate_multiplier": 1.0,
    "encoder_warmup_steps": 0,
    "encoder_inference_mode": False,
}


def fine_tune(
    captioner,
    x,
    references,
    cache_dir,
    *,
    warmup_epochs,
    epochs,
    batch_size,
    seed,
    validation_data=None,
    verbose="auto",
    **fit_kwargs,
):
    """`ImageCaptioner.fine_tune`: the cached warm-up, then end to end."""
    if captioner.encoder is None:
        raise ValueError(
            "`fine_tune` trains the captioner's encoder; this captioner has "
            "`encoder=None` and reads features already: call "
            "`fit(features, token_ids)` instead."
        )
    if not captioner.encoder_trainable:
        raise ValueError(
            "`fine_tune` trains the encoder after the warm-up, and this "
            "captioner has `encoder_trainable=False`: call "
            "`fit_on_features` to train it on the frozen encoder, or build "
            "it with `encoder_trainable=True`."
        )
    if getattr(captioner, "optimizer", None) is None:
        raise ValueError(
            "The captioner must be compiled before `fine_tune`: call "
            "`captioner.compile()` first."
        )
    warmup_epochs = _validation.check_int(
        "warmup_epochs", warmup_epochs, minimum=0
    )
    epochs = _validation.check_int("epochs", epochs, minimum=0)
    batch_size = _validation.check_int("batch_size", batch_size)
    for name in ("initial_epoch", "steps_per_epoch", "shuffle"):
        if name in fit_kwargs:
            raise ValueError(
                f"`fine_tune` sets `{name}` of each phase itself; use "
                "`fit_on_features` and `fit` for a recipe of your own. "
                f"Received: {name}={fit_kwargs[name]!r}"
            )
    _validation.check_references(references, num_images=len(x))
    steps_per_epoch = -(-sum(len(c) for c in references) // batch_size)
    # The step count, not a flag: a second call, or a captioner loaded from
    # a file saved after the warm-up, goes straight to fine-tuning.
    done = int(
        _feature_training.captioner_inner_optimizer(captioner).iterations
    )
    remaining = max(0, warmup_epochs * steps_per_epoch - done)
    histories = []
    if remaining:
        histories.append(
            _feature_training.fit_on_features(
                captioner,
                x,
                references,
                cache_dir,
                batch_size=batch_size,
                seed=seed,
                validation_data=validation_data,
                epochs=-(-remaining // steps_per_epoch),
                verbose=verbose,
                **fit_kwargs,
            )
        )
    if epochs:
        from keras_captioning.data import make_dataset

        image_size = captioner.preprocessor.target_size

        def dataset(images, captions, shuffle):
            return make_dataset(
                images,
                captions,
                captioner.tokenizer,
                batch_size=batch_size,
                image_size=None if image_size is None else tuple(image_size),
                shuffle=shuffle,
                seed=seed,
            )

        if validation_data is not None:
            validation_data = dataset(*validation_data, shuffle=False)
        histories.append(
            captioner.fit(
                dataset(x, references, shuffle=True),
                validation_data=validation_data,
                epochs=epochs,
                verbose=verbose,
                **fit_kwargs,
            )
        )
    return _joined(histories, captioner)


def _joined(histories, model):
    """One `History` of both phases, epochs numbered on from the first."""
    joined = keras.callbacks.History()
    joined.set_model(model)
    joined.epoch = []
    for history in histories:
        start = len(joined.epoch)
        joined.epoch.extend(start + epoch for epoch in history.epoch)
        for key, values in history.history.items():
            joined.history.setdefault(key, []).extend(values)
    return joined
