"""Encoders `ImageCaptioner` builds from a name."""

import os

import keras

from keras_captioning.models.simple_cnn import SimpleCNN

# name -> (constructor, pixel scaling it expects, default square image size)
_BACKBONES = {
    "mobilenet_v3_small": (
        lambda **kw: keras.applications.MobileNetV3Small(**kw),
        "none",
        224,
    ),
    "mobilenet_v3_large": (
        lambda **kw: keras.applications.MobileNetV3Large(**kw),
        "none",
        224,
    ),
    "efficientnet_b0": (
        lambda **kw: keras.applications.EfficientNetB0(**kw),
        "none",
        224,
    ),
    "efficientnet_b3": (
        lambda **kw: keras.applications.EfficientNetB3(**kw),
        "none",
        300,
    ),
    "resnet50": (
        lambda **kw: keras.applications.ResNet50(**kw),
        "caffe",
        224,
    ),
}
ENCODER_NAMES = ("simple_cnn", *_BACKBONES)


def build_encoder(name, image_size, weights):
    """Returns `(encoder, scaling, image_size)` for an encoder name.

    `weights` is `None` (random initialisation) or a path to a local weights
    file; nothing is ever downloaded.
    """
    if name not in ENCODER_NAMES:
        raise ValueError(
            f"Unknown encoder name {name!r}. Expected one of {ENCODER_NAMES}, "
            "a Keras layer or model, or None for precomputed features."
        )
    if weights is not None:
        if weights == "imagenet":
            raise ValueError(
                "`encoder_weights='imagenet'` would download weights at run "
                "time, which keras_captioning never does. Download the "
                "no-top weights file once and pass its local path."
            )
        if not os.path.exists(weights):
            raise ValueError(
                "`encoder_weights` must be None or the path of a local "
                f"weights file. Received: encoder_weights={weights!r}, which "
                "does not exist."
            )
    if name == "simple_cnn":
        encoder = SimpleCNN(name="encoder")
        if weights is not None:
            raise ValueError(
                "`encoder_weights` is for the keras.applications backbones; "
                "the simple_cnn encoder is trained from scratch. Received: "
                f"encoder_weights={weights!r}"
            )
        return encoder, "unit", image_size
    constructor, scaling, default_size = _BACKBONES[name]
    size = image_size or (default_size, default_size)
    encoder = constructor(
        include_top=False,
        weights=weights,
        input_shape=(*size, 3),
        name=name,
    )
    return encoder, scaling, size
