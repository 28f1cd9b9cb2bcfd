"""The components `ImageCaptioner` builds from names and dicts.

Encoders come from a name (see `backbones`); the other components from
`None`, an instance or a dict of keyword arguments.
"""

import keras

from keras_captioning.layers.image_preprocessing import ImagePreprocessing
from keras_captioning.models.backbones import SIMPLE_CNN
from keras_captioning.models.backbones import available_encoders
from keras_captioning.models.backbones import get_backbone
from keras_captioning.models.simple_cnn import SimpleCNN

ENCODER_NAMES = available_encoders()


def build_encoder(name, image_size, weights):
    """Returns `(encoder, scaling, image_size)` for an encoder name.

    `weights` is `None` (random initialisation), `"imagenet"` (Keras's own
    download and cache, `~/.keras/models`) or the path of a local weights
    file. `image_size` is `None` for the backbone's default size.
    """
    if name == SIMPLE_CNN:
        if weights is not None:
            raise ValueError(
                "`encoder_weights` is for the keras.applications backbones; "
                "the simple_cnn encoder is trained from scratch. Received: "
                f"encoder_weights={weights!r}"
            )
        return SimpleCNN(name="encoder"), "unit", image_size
    backbone = get_backbone(name)
    encoder = backbone.build(image_size, weights)
    return encoder, backbone.scaling, tuple(encoder.input.shape[1:3])


def build_image_path(encoder, image_size, preprocessing, weights):
    """Returns `(encoder, preprocessing)`: `ImageCaptioner`'s image half.

    `encoder` is a name, a Keras layer or `None` (precomputed features,
    then `preprocessing` is `None` too); the arguments are those of
    `ImageCaptioner`, checked here.
    """
    default_scaling = "unit"
    if isinstance(encoder, str):
        encoder, default_scaling, image_size = build_encoder(
            encoder, image_size, weights
        )
    elif weights is not None:
        raise ValueError(
            "`encoder_weights` applies to encoders given by name. Load "
            "weights into your own encoder before passing it. Received: "
            f"encoder_weights={weights!r}"
        )
    elif encoder is not None and not isinstance(encoder, keras.layers.Layer):
        raise TypeError(
            "`encoder` must be an encoder name, a Keras layer or model, "
            f"or None. Received: encoder={encoder!r}"
        )
    if encoder is None:
        if image_size is not None or preprocessing is not None:
            raise ValueError(
                "`image_size` and `preprocessing` apply to images; with "
                "`encoder=None` the model reads precomputed features. "
                f"Received: image_size={image_size!r}, "
                f"preprocessing={preprocessing!r}"
            )
        return None, None
    if isinstance(preprocessing, ImagePreprocessing):
        return encoder, preprocessing
    return encoder, ImagePreprocessing(
        image_size=image_size,
        scaling=preprocessing or default_scaling,
        name="preprocessing",
    )


def build_component(value, layer_class, defaults, argument):
    """`layer_class` from `None` (defaults), a dict (merged) or itself."""
    if value is None:
        return layer_class(**defaults)
    if isinstance(value, dict):
        return layer_class(**{**defaults, **value})
    if isinstance(value, layer_class):
        return value
    raise TypeError(
        f"`{argument}` must be None, a {layer_class.__name__} or a dict of "
        f"its keyword arguments. Received: {argument}={value!r}"
    )
