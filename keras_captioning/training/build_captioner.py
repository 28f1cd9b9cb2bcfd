"""Builds and compiles the `ImageCaptioner` a training run describes."""

import keras

from keras_captioning._validation import check_float
from keras_captioning.models.image_captioner import ImageCaptioner

# The options of `build_captioner` that go to each part of the captioner,
# under the part's own name for them; the others go to `ImageCaptioner`.
_DECODER_OPTIONS = {
    name: name
    for name in (
        "conditioning",
        "units",
        "embedding_dim",
        "dropout",
        # Only when given: a mode without the penalty refuses it.
        "attention_regularization",
    )
}
_PROJECTION_OPTIONS = {"units": "feature_units", "dropout": "dropout"}
_ENCODER_OPTIONS = (
    "image_size",
    "encoder_weights",
    "encoder_learning_rate_multiplier",
    "encoder_warmup_steps",
    "encoder_inference_mode",
)
OPTIONS = sorted(
    {
        *_DECODER_OPTIONS,
        *_ENCODER_OPTIONS,
        "feature_units",
        "freeze_encoder",
        "max_length",
    }
)


def build_captioner(vocabulary, encoder="mobilenet_v3_small", **options):
    """Builds the `ImageCaptioner` that `keras-captioning train` trains.

    Flat options, one per flag of the command, turned into the captioner's
    nested ones: the decoder's, the feature projection's and the
    encoder's. An option left out or `None` passes nothing, so that
    `ImageCaptioner`'s own default applies: the command trains the model a
    user of the library gets.

    Args:
        vocabulary: list of str, the words (see `ImageCaptioner`).
        encoder: str or `None`: `"simple_cnn"`, a name of
            `keras_captioning.models.backbones.available_encoders()`, or
            `None` for a captioner of precomputed features (then the
            encoder's options are not used). Defaults to
            `"mobilenet_v3_small"`.
        **options: any of these, each `None` by default:
            `image_size`, `(height, width)` (the backbone's own size by
            default); `encoder_weights`, `"imagenet"` or a local weights
            file of the backbone (random initialisation by default);
            `freeze_encoder`, bool, whether the encoder is not trained;
            `encoder_learning_rate_multiplier`, `encoder_warmup_steps` and
            `encoder_inference_mode`, how the encoder trains (see
            `ImageCaptioner`); `conditioning`, one of
            `keras_captioning.layers.conditioning.names()`; `units`, the
            decoder's recurrent units; `embedding_dim`, the size of the
            word embeddings; `feature_units`, the size the image features
            are projected to; `dropout`, in `[0, 1)`, on the image
            features, the embeddings and the decoder outputs;
            `attention_regularization`, the weight of the conditioning
            mode's attention penalty (a mode without one refuses it);
            `max_length`, the most words per caption.

    Returns:
        An uncompiled `keras_captioning.models.ImageCaptioner`; see
        `compile_captioner`.

    Raises:
        TypeError: for an unknown option, or one of the wrong type.
        ValueError: for an option out of range, named as the
            `ImageCaptioner` (or its layers) names it.
        OSError: if the `"imagenet"` weights cannot be downloaded.

    Example:

    >>> captioner = keras_captioning.training.build_captioner(
    ...     ["a", "red", "circle"], encoder=None, units=16, dropout=0.1)
    >>> captioner.decoder.units, captioner.decoder.dropout
    (16, 0.1)
    """
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(
            f"Unknown option(s) {unknown} for `build_captioner`. Its options "
            f"are {OPTIONS}. Received: options={options}"
        )
    given = {
        name: value for name, value in options.items() if value is not None
    }

    def part(names):
        return {
            key: given[name] for key, name in names.items() if name in given
        }

    captioner_options = part({"max_length": "max_length"})
    if encoder is not None:
        captioner_options.update(
            part({name: name for name in _ENCODER_OPTIONS}),
            encoder_trainable=not given.get("freeze_encoder", False),
        )
    return ImageCaptioner(
        vocabulary,
        encoder=encoder,
        feature_to_sequence=part(_PROJECTION_OPTIONS),
        decoder=part(_DECODER_OPTIONS),
        **captioner_options,
    )


def compile_captioner(captioner, learning_rate=None):
    """Compiles a captioner as `keras-captioning train` does.

    `ImageCaptioner.compile()`'s defaults, with Adam at `learning_rate`
    (its gradients clipped to norm 5, as the default's) when one is given.

    Args:
        captioner: a `keras_captioning.models.ImageCaptioner`.
        learning_rate: `None` or float in `(0, 1)`; `None` keeps the
            default's, 1e-3. Defaults to `None`.

    Returns:
        `captioner`, compiled.

    Raises:
        ValueError: if `learning_rate` is not in `(0, 1)`.

    Example:

    >>> captioner = keras_captioning.training.build_captioner(
    ...     ["a", "red", "circle"], encoder=None)
    >>> captioner = keras_captioning.training.compile_captioner(
    ...     captioner, learning_rate=0.01)
    >>> round(float(captioner.optimizer.learning_rate), 4)
    0.01
    """
    if learning_rate is None:
        captioner.compile()
        return captioner
    learning_rate = check_float("learning_rate", learning_rate, 0, 1)
    if learning_rate in (0, 1):
        raise ValueError(
            "`learning_rate` must be in (0, 1). Received: "
            f"learning_rate={learning_rate!r}"
        )
    captioner.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=5.0)
    )
    return captioner
