import keras
from keras import ops

from keras_captioning import _validation

SCALING_MODES = ("unit", "symmetric", "caffe", "none")
# ImageNet channel means in BGR order, as the Caffe-trained ResNets expect.
_CAFFE_BGR_MEANS = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="keras_captioning")
class ImagePreprocessing(keras.layers.Layer):
    """Turns raw images into what an encoder expects, inside the model.

    Keeping preprocessing inside the model means raw `uint8` images go in at
    `fit` and at caption time alike: training and inference cannot drift
    apart, and a saved model needs no separate preprocessing code.

    The layer casts to the compute dtype, optionally resizes (bilinear,
    keeping no aspect ratio) and scales the pixel values:

    - `"unit"`: `[0, 255]` to `[0, 1]`;
    - `"symmetric"`: `[0, 255]` to `[-1, 1]`;
    - `"caffe"`: RGB to BGR, minus the ImageNet channel means (ResNet50);
    - `"none"`: values kept in `[0, 255]` (backbones that scale inside, such
      as MobileNetV3 and EfficientNet).

    Args:
        image_size: `None` or a pair of ints `(height, width)`. When set,
            images are resized to it. Defaults to `None`.
        scaling: one of `"unit"`, `"symmetric"`, `"caffe"`, `"none"`.
            Defaults to `"unit"`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`,
            including `name` and `dtype`.

    Call arguments:
        images: tensor `(batch, height, width, 3)` of `uint8` or floats in
            `[0, 255]`.

    Returns:
        Float tensor `(batch, height, width, 3)` in the compute dtype, resized
        to `image_size` when it is set.

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> layer = keras_captioning.layers.ImagePreprocessing(image_size=(32, 32))
    >>> images = np.full((2, 64, 48, 3), 255, "uint8")
    >>> outputs = layer(images)
    >>> tuple(outputs.shape), float(outputs[0, 0, 0, 0])
    ((2, 32, 32, 3), 1.0)
    """

    def __init__(self, image_size=None, scaling="unit", **kwargs):
        super().__init__(**kwargs)
        if image_size is not None:
            if (
                not isinstance(image_size, (tuple, list))
                or len(image_size) != 2
            ):
                raise ValueError(
                    "`image_size` must be None or a pair of positive integers "
                    f"(height, width). Received: image_size={image_size!r}"
                )
            image_size = tuple(
                _validation.check_int("image_size", size) for size in image_size
            )
        _validation.check_choice("scaling", scaling, SCALING_MODES)
        self.image_size = image_size
        self.scaling = scaling

    def call(self, images):
        shape = _validation.check_rank(
            "images", images.shape, 4, "(batch, height, width, 3)"
        )
        if shape[-1] != 3:
            raise ValueError(
                "`images` must have shape (batch, height, width, 3). Received "
                f"shape {shape}."
            )
        images = ops.cast(images, self.compute_dtype)
        if self.image_size is not None:
            images = ops.image.resize(
                images, self.image_size, interpolation="bilinear"
            )
        if self.scaling == "unit":
            return images / 255.0
        if self.scaling == "symmetric":
            return images / 127.5 - 1.0
        if self.scaling == "caffe":
            bgr = ops.flip(images, axis=-1)
            return bgr - ops.cast(_CAFFE_BGR_MEANS, self.compute_dtype)
        return images

    def compute_output_shape(self, input_shape):
        if self.image_size is None:
            return tuple(input_shape)
        return (input_shape[0], *self.image_size, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"image_size": self.image_size, "scaling": self.scaling})
        return config
