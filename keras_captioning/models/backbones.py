"""Every `keras.applications` backbone `ImageCaptioner` can build by name.

`BACKBONES` maps a snake_case name (`"resnet101"`, `"inception_v3"`,
`"efficientnet_v2_s"`, ...) to a `Backbone`: the `keras.applications`
constructor, the pixel scaling its ImageNet weights were trained with, its
default and minimum image sizes and the channels of its last feature map.
`ImageCaptioner(encoder="resnet101")` looks the name up here, builds the
network without its classifier (`include_top=False, pooling=None`) and hands
its last spatial feature map `(batch, height, width, channels)` to
`FeatureToSequence`; the scaling becomes the captioner's
`ImagePreprocessing`, so raw `uint8` images go in.

Scalings, named as in `ImagePreprocessing`:

- `"caffe"`: RGB to BGR, minus the ImageNet channel means, no division
  (VGG, ResNet v1: weights converted from Caffe);
- `"symmetric"`: `[0, 255]` to `[-1, 1]`, Keras's `mode="tf"` (Inception,
  Xception, MobileNet V1/V2, ResNet v2, NASNet: trained with TF-Slim);
- `"torch"`: `[0, 1]`, minus the ImageNet mean, over its standard deviation
  (DenseNet: weights converted from PyTorch);
- `"none"`: pixels stay in `[0, 255]` because the Keras model starts with
  its own `Rescaling`/`Normalization` layers (EfficientNet, EfficientNetV2,
  ConvNeXt, MobileNetV3).

Example:

>>> from keras_captioning.models import backbones
>>> backbone = backbones.BACKBONES["resnet101"]
>>> backbone.scaling, backbone.default_size, backbone.feature_channels
('caffe', 224, 2048)
>>> "inception_v3" in backbones.available_encoders()
True
"""

import dataclasses
import difflib
import os
import types
import urllib.error

import keras

from keras_captioning._validation import check_choice
from keras_captioning._validation import check_int

SIMPLE_CNN = "simple_cnn"


@dataclasses.dataclass(frozen=True)
class Backbone:
    """One `keras.applications` network, as a captioning encoder.

    Args:
        name: str, the snake_case name `ImageCaptioner(encoder=...)` takes.
        constructor: the `keras.applications` function that builds it.
        scaling: str, the `ImagePreprocessing` scaling its ImageNet weights
            expect: `"caffe"`, `"symmetric"`, `"torch"` or `"none"`.
        default_size: int, the square image size its weights were trained
            at, used when `ImageCaptioner` gets no `image_size`.
        feature_channels: int, the channels of its last feature map, the
            features `FeatureToSequence` receives.
        min_size: int, the smallest height and width it accepts. Defaults
            to `32`.

    Example:

    >>> from keras_captioning.models.backbones import BACKBONES
    >>> backbone = BACKBONES["inception_v3"]
    >>> backbone.constructor.__name__, backbone.scaling
    ('InceptionV3', 'symmetric')
    >>> backbone.default_size, backbone.min_size, backbone.feature_channels
    (299, 75, 2048)
    """

    name: str
    constructor: object = dataclasses.field(repr=False)
    scaling: str
    default_size: int
    feature_channels: int
    min_size: int = 32

    def build(self, image_size=None, weights=None):
        """Builds the network without its classifier.

        Args:
            image_size: `None` for `(default_size, default_size)`, or a
                pair of ints `(height, width)`, each at least `min_size`.
            weights: `None` (random initialisation), `"imagenet"` (Keras
                downloads the no-top weights once into its cache,
                `~/.keras/models`, and reads them from there afterwards)
                or the path of a local weights file.

        Returns:
            A `keras.Model` (with Keras's own name for the network; some
            constructors read their name), mapping images
            `(batch, height, width, 3)`, scaled as `scaling` says, to its
            last feature map `(batch, rows, columns, feature_channels)`.

        Example:

        >>> from keras_captioning.models.backbones import BACKBONES
        >>> encoder = BACKBONES["vgg16"].build(image_size=(32, 48))
        >>> tuple(encoder.output.shape)
        (None, 1, 1, 512)
        """
        image_size = self._check_image_size(image_size)
        weights = _check_weights(weights)
        try:
            return self.constructor(
                include_top=False,
                weights=weights,
                input_shape=(*image_size, 3),
                pooling=None,
            )
        except Exception as error:
            if weights == "imagenet" and _is_download_failure(error):
                raise OSError(_offline_message(self.name, error)) from error
            raise

    def _check_image_size(self, image_size):
        if image_size is None:
            return (self.default_size, self.default_size)
        if not isinstance(image_size, (tuple, list)) or len(image_size) != 2:
            raise ValueError(
                "`image_size` must be None or a pair of integers (height, "
                f"width). Received: image_size={image_size!r}"
            )
        for size in image_size:
            check_int("image_size", size)
        if min(image_size) < self.min_size:
            raise ValueError(
                f"`image_size` must be at least {self.min_size}x"
                f"{self.min_size} for the {self.name!r} encoder (its "
                f"smallest input). Received: image_size={tuple(image_size)}"
            )
        return tuple(int(size) for size in image_size)


def _check_weights(weights):
    if weights is None or weights == "imagenet":
        return weights
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(
            "`encoder_weights` must be None, 'imagenet' or the path of a "
            f"weights file. Received: encoder_weights={weights!r} of type "
            f"{type(weights).__name__}"
        )
    weights = os.fspath(weights)
    if not os.path.isfile(weights):
        raise ValueError(
            "`encoder_weights` must be None, 'imagenet' or the path of a "
            f"local weights file. Received: encoder_weights={weights!r}, "
            "which does not exist."
        )
    return weights


def _is_download_failure(error):
    # `keras.utils.get_file` turns a failed URL fetch into a plain
    # `Exception("URL fetch failure on <url>: <errno> -- <reason>")`.
    return isinstance(error, urllib.error.URLError) or str(error).startswith(
        "URL fetch failure on "
    )


def keras_cache_dir():
    """Returns the folder where Keras caches downloaded weights.

    `keras.utils.get_file` keeps `keras.applications` weights in the
    `models` folder of the Keras home: `$KERAS_HOME/models`, by default
    `~/.keras/models`. A weights file copied there (under the name Keras
    downloads it as) is used without a network.

    Returns:
        str, an absolute path.

    Example:

    >>> import os
    >>> from keras_captioning.models.backbones import keras_cache_dir
    >>> os.path.basename(keras_cache_dir())
    'models'
    """
    home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return os.path.join(os.path.abspath(os.path.expanduser(home)), "models")


def _offline_message(name, error):
    text = str(error)
    url = text[len("URL fetch failure on ") :].split(": ")[0]
    if not url.startswith(("http://", "https://")):
        url = None
    file_name = url.rsplit("/", 1)[-1] if url else "the no-top weights file"
    cache_dir = keras_cache_dir()
    source = url or f"the {name!r} no-top weights file"
    return (
        f"The ImageNet weights of the {name!r} encoder ({file_name}) are not "
        f"in the Keras cache, {cache_dir}, and could not be downloaded "
        f"({text}). Without a network: download {source} on a machine "
        f"that has one and copy it into {cache_dir} under the same name, "
        "or pass the path of a local copy as `encoder_weights`."
    )


_apps = keras.applications
_TABLE = (
    Backbone("vgg16", _apps.VGG16, "caffe", 224, 512),
    Backbone("vgg19", _apps.VGG19, "caffe", 224, 512),
    Backbone("resnet50", _apps.ResNet50, "caffe", 224, 2048),
    Backbone("resnet101", _apps.ResNet101, "caffe", 224, 2048),
    Backbone("resnet152", _apps.ResNet152, "caffe", 224, 2048),
    Backbone("resnet50_v2", _apps.ResNet50V2, "symmetric", 224, 2048),
    Backbone("resnet101_v2", _apps.ResNet101V2, "symmetric", 224, 2048),
    Backbone("resnet152_v2", _apps.ResNet152V2, "symmetric", 224, 2048),
    Backbone(
        "inception_v3", _apps.InceptionV3, "symmetric", 299, 2048, min_size=75
    ),
    Backbone(
        "inception_resnet_v2",
        _apps.InceptionResNetV2,
        "symmetric",
        299,
        1536,
        min_size=75,
    ),
    Backbone("xception", _apps.Xception, "symmetric", 299, 2048, min_size=71),
    Backbone("densenet121", _apps.DenseNet121, "torch", 224, 1024),
    Backbone("densenet169", _apps.DenseNet169, "torch", 224, 1664),
    Backbone("densenet201", _apps.DenseNet201, "torch", 224, 1920),
    Backbone("mobilenet", _apps.MobileNet, "symmetric", 224, 1024),
    Backbone("mobilenet_v2", _apps.MobileNetV2, "symmetric", 224, 1280),
    Backbone("mobilenet_v3_small", _apps.MobileNetV3Small, "none", 224, 576),
    Backbone("mobilenet_v3_large", _apps.MobileNetV3Large, "none", 224, 960),
    Backbone("efficientnet_b0", _apps.EfficientNetB0, "none", 224, 1280),
    Backbone("efficientnet_b1", _apps.EfficientNetB1, "none", 240, 1280),
    Backbone("efficientnet_b2", _apps.EfficientNetB2, "none", 260, 1408),
    Backbone("efficientnet_b3", _apps.EfficientNetB3, "none", 300, 1536),
    Backbone("efficientnet_b4", _apps.EfficientNetB4, "none", 380, 1792),
    Backbone("efficientnet_b5", _apps.EfficientNetB5, "none", 456, 2048),
    Backbone("efficientnet_b6", _apps.EfficientNetB6, "none", 528, 2304),
    Backbone("efficientnet_b7", _apps.EfficientNetB7, "none", 600, 2560),
    Backbone("efficientnet_v2_b0", _apps.EfficientNetV2B0, "none", 224, 1280),
    Backbone("efficientnet_v2_b1", _apps.EfficientNetV2B1, "none", 240, 1280),
    Backbone("efficientnet_v2_b2", _apps.EfficientNetV2B2, "none", 260, 1408),
    Backbone("efficientnet_v2_b3", _apps.EfficientNetV2B3, "none", 300, 1536),
    Backbone("efficientnet_v2_s", _apps.EfficientNetV2S, "none", 384, 1280),
    Backbone("efficientnet_v2_m", _apps.EfficientNetV2M, "none", 480, 1280),
    Backbone("efficientnet_v2_l", _apps.EfficientNetV2L, "none", 480, 1280),
    Backbone("convnext_tiny", _apps.ConvNeXtTiny, "none", 224, 768),
    Backbone("convnext_small", _apps.ConvNeXtSmall, "none", 224, 768),
    Backbone("convnext_base", _apps.ConvNeXtBase, "none", 224, 1024),
    Backbone("convnext_large", _apps.ConvNeXtLarge, "none", 224, 1536),
    Backbone("convnext_xlarge", _apps.ConvNeXtXLarge, "none", 224, 2048),
    Backbone("nasnet_mobile", _apps.NASNetMobile, "symmetric", 224, 1056),
    Backbone("nasnet_large", _apps.NASNetLarge, "symmetric", 331, 4032),
)
BACKBONES = types.MappingProxyType(
    {backbone.name: backbone for backbone in _TABLE}
)
"""Read-only mapping of every backbone name to its `Backbone`."""


def available_encoders():
    """Returns every encoder name `ImageCaptioner(encoder=...)` accepts.

    Returns:
        Tuple of str: `"simple_cnn"` (the small CNN trained from scratch),
        then the `BACKBONES` names in table order.

    Example:

    >>> from keras_captioning.models.backbones import available_encoders
    >>> available_encoders()[:4]
    ('simple_cnn', 'vgg16', 'vgg19', 'resnet50')
    """
    return (SIMPLE_CNN, *BACKBONES)


def get_backbone(name):
    """Returns the `Backbone` registered under `name`.

    Args:
        name: str, a name from `BACKBONES`.

    Returns:
        The `Backbone`.

    Raises:
        ValueError: for an unknown name, listing the known ones and
            suggesting the closest.

    Example:

    >>> from keras_captioning.models.backbones import get_backbone
    >>> get_backbone("xception").min_size
    71
    """
    try:
        check_choice("encoder", name, available_encoders())
    except ValueError as error:
        close = difflib.get_close_matches(
            str(name).lower(), available_encoders(), n=3, cutoff=0.6
        )
        hint = f" Did you mean {' or '.join(map(repr, close))}?"
        raise ValueError(
            f"{error}{hint if close else ''} An encoder can also be a Keras "
            "layer or model, or None for precomputed features."
        ) from None
    if name == SIMPLE_CNN:
        raise ValueError(
            "'simple_cnn' is keras_captioning.models.SimpleCNN, trained from "
            "scratch, not a keras.applications backbone."
        )
    return BACKBONES[name]
