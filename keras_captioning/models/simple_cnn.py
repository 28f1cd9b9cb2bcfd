import keras


@keras.saving.register_keras_serializable(package="keras_captioning")
class SimpleCNN(keras.layers.Layer):
    """A small VGG-style convolutional encoder sized for a CPU.

    Each block is two 3x3 convolutions with batch normalisation (momentum
    0.9, so the inference statistics settle within a few hundred steps on
    small datasets) and ReLU,
    followed by 2x2 max pooling, so every block halves the feature map and
    the output is a spatial map `(batch, height / 2**blocks, width /
    2**blocks, filters[-1])` ready for `FeatureToSequence`. Any image size
    works (the spatial size is only known at call time).

    This is the contracting conv stack people start from when they ask how to
    connect a CNN to an LSTM; trained jointly with the decoder it learns the
    features the captions need.

    Args:
        filters: sequence of ints, the filters of each block. Defaults to
            `(32, 64, 128)`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`,
            including `name`, `trainable` and `dtype`.

    Call arguments:
        images: float tensor `(batch, height, width, channels)`, already
            scaled (see `ImagePreprocessing`).
        training: Python bool, whether batch normalisation uses batch
            statistics. Defaults to `None`.

    Returns:
        Float tensor `(batch, height // 2**n, width // 2**n, filters[-1])`
        with `n = len(filters)`.

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> cnn = keras_captioning.models.SimpleCNN(filters=(8, 16))
    >>> tuple(cnn(np.zeros((2, 32, 48, 3), "float32")).shape)
    (2, 8, 12, 16)
    """

    def __init__(self, filters=(32, 64, 128), **kwargs):
        super().__init__(**kwargs)
        if (
            not isinstance(filters, (list, tuple))
            or not filters
            or not all(
                isinstance(count, int)
                and not isinstance(count, bool)
                and count > 0
                for count in filters
            )
        ):
            raise ValueError(
                "`filters` must be a non-empty sequence of positive integers. "
                f"Received: filters={filters!r}"
            )
        self.filters = tuple(filters)
        policy = self.dtype_policy
        self._blocks = []
        for block, count in enumerate(self.filters):
            layers = []
            for position in range(2):
                layers.append(
                    keras.layers.Conv2D(
                        count,
                        3,
                        padding="same",
                        use_bias=False,
                        dtype=policy,
                        name=f"block{block}_conv{position}",
                    )
                )
                layers.append(
                    keras.layers.BatchNormalization(
                        momentum=0.9,
                        dtype=policy,
                        name=f"block{block}_norm{position}",
                    )
                )
                layers.append(
                    keras.layers.ReLU(
                        dtype=policy, name=f"block{block}_relu{position}"
                    )
                )
            layers.append(
                keras.layers.MaxPooling2D(
                    dtype=policy, name=f"block{block}_pool"
                )
            )
            self._blocks.append(layers)
        # A config may say `trainable=False`; `Layer.__init__` applied it
        # before the sub-layers existed, so they must hear it now.
        for layers in self._blocks:
            for layer in layers:
                layer.trainable = self.trainable

    def build(self, images_shape):
        shape = tuple(images_shape)
        if len(shape) != 4 or shape[-1] is None:
            raise ValueError(
                "`images` must have shape (batch, height, width, channels) "
                f"with a known channel count. Received shape {shape}."
            )
        for layers in self._blocks:
            for layer in layers:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)

    def call(self, images, training=None):
        outputs = images
        for layers in self._blocks:
            for layer in layers:
                if isinstance(layer, keras.layers.BatchNormalization):
                    outputs = layer(outputs, training=training)
                else:
                    outputs = layer(outputs)
        return outputs

    def compute_output_shape(self, images_shape):
        batch, height, width, _ = images_shape
        factor = 2 ** len(self.filters)
        height = None if height is None else height // factor
        width = None if width is None else width // factor
        return (batch, height, width, self.filters[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"filters": list(self.filters)})
        return config
