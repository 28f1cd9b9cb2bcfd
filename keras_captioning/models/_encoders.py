"""Encoders `ImageCaptioner` builds from a name (see `backbones`)."""

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
