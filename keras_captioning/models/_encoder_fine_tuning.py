"""How `ImageCaptioner` trains an encoder that carries trained weights.

The defaults were measured on the held-out digits task
(`benchmarks/heldout_pretrained_encoder.py`, docs/pretrained_encoder.rst).
"""

import keras

from keras_captioning import _validation
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
