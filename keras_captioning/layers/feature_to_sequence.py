import math

import keras
from keras import ops

from keras_captioning import _validation

_POOLING_MODES = ("avg", "max")


@keras.saving.register_keras_serializable(package="keras_captioning")
class FeatureToSequence(keras.layers.Layer):
    """Turns the output of any CNN into a sequence a recurrent decoder reads.

    A CNN ends in one of three shapes, and this layer accepts each of them:

    - a pooled vector `(batch, channels)`, which becomes one step:
      `(batch, 1, dim)`;
    - a sequence `(batch, steps, channels)`, kept as it is;
    - a feature map `(batch, height, width, channels)`, whose positions become
      steps in row-major order: `(batch, height * width, dim)`. `height` and
      `width` may be unknown until call time, so one model serves images of
      any size.

    Each step can then be projected to `units`, passed through an activation,
    tagged with a learned position embedding, pooled to a single step and
    regularised with dropout, in that order.

    The position embedding is size-free: every step of a feature map is
    described by its relative coordinates `((row + 0.5) / height,
    (column + 0.5) / width)` in `[0, 1]`, expanded into sine and cosine
    features of `num_frequencies` octaves and mapped by a learned dense layer
    to the step's size. The same weights therefore serve a 7x7 and a 14x14
    map, with no maximum size. Sequences (rank 3) use the relative position
    `(step + 0.5) / steps` for the row and `0.5` for the column; a pooled
    vector has one step at the centre.

    The layer does not produce a mask: every image position is real.

    Args:
        units: int or `None`. Size of the dense projection applied to every
            step. `None` keeps the channel count and adds no projection.
            Defaults to `None`.
        activation: activation applied after the projection (a name such as
            `"relu"` or `"tanh"`, or a callable). Defaults to `None`, the
            identity.
        dropout: float in `[0, 1)`. Fraction of the output units dropped
            during training. Defaults to `0.0`.
        pooling: `None`, `"avg"` or `"max"`. When set, the steps are pooled
            into one, giving `(batch, 1, dim)`. Defaults to `None`.
        position_embedding: bool. Whether to add the learned size-free
            position embedding described above. Defaults to `False`.
        num_frequencies: int. Octaves of the sine/cosine coordinate features
            fed to the position embedding. Defaults to `8`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`,
            including `name`, `trainable` and `dtype`.

    Call arguments:
        features: float tensor of rank 2, 3 or 4, the output of a CNN.
        training: Python bool, whether the layer runs in training mode
            (dropout is active). Defaults to `None`, Keras's learning phase.

    Returns:
        Float tensor of shape `(batch, steps, dim)` where `dim` is `units`, or
        the channel count when `units` is `None`.

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> layer = keras_captioning.layers.FeatureToSequence(units=32)
    >>> tuple(layer(np.zeros((2, 7, 7, 512), "float32")).shape)
    (2, 49, 32)
    >>> tuple(layer.compute_output_shape((None, None, None, 512)))
    (None, None, 32)
    """

    def __init__(
        self,
        units=None,
        activation=None,
        dropout=0.0,
        pooling=None,
        position_embedding=False,
        num_frequencies=8,
        **kwargs,
    ):
        super().__init__(**kwargs)
        units = _validation.check_int("units", units, allow_none=True)
        dropout = _validation.check_fraction("dropout", dropout)
        if pooling is not None:
            _validation.check_choice("pooling", pooling, _POOLING_MODES)
        _validation.check_bool("position_embedding", position_embedding)
        num_frequencies = _validation.check_int(
            "num_frequencies", num_frequencies
        )
        self.units = units
        self.activation = keras.activations.get(activation)
        self.dropout = float(dropout)
        self.pooling = pooling
        self.position_embedding = position_embedding
        self.num_frequencies = num_frequencies

        self._projection = (
            keras.layers.Dense(
                units, dtype=self.dtype_policy, name="projection"
            )
            if units is not None
            else None
        )
        # The learned map from coordinate features to the step size is
        # created in `build`, where the step size becomes known.
        self._position_projection = None
        self._dropout_layer = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="dropout"
        )
        self._channels = None

    def build(self, features_shape):
        features_shape = tuple(features_shape)
        _check_rank(features_shape)
        channels = features_shape[-1]
        if channels is None:
            raise ValueError(
                "The last (channel) dimension of `features` must be known "
                f"when the layer is built. Received shape: {features_shape}"
            )
        self._channels = channels
        output_dim = self.units if self.units is not None else channels
        if self._projection is not None:
            self._projection.build((None, None, channels))
        if self.position_embedding:
            self._position_projection = keras.layers.Dense(
                output_dim, dtype=self.dtype_policy, name="position_projection"
            )
            self._position_projection.build((None, 4 * self.num_frequencies))
        self._dropout_layer.build((None, None, output_dim))

    def call(self, features, training=None):
        _check_rank(tuple(features.shape))
        channels = features.shape[-1]
        if channels is not None and channels != self._channels:
            raise ValueError(
                "`features` has a different channel count than the layer was "
                f"built for: expected {self._channels}, received {channels} "
                f"(shape {tuple(features.shape)})."
            )
        features = ops.cast(features, self.compute_dtype)
        rank = len(features.shape)
        if rank == 2:
            sequence = ops.expand_dims(features, axis=1)
            grid = (1, 1)
        elif rank == 3:
            sequence = features
            grid = (ops.shape(features)[1], 1)
        else:
            dynamic_shape = ops.shape(features)
            height, width = dynamic_shape[1], dynamic_shape[2]
            sequence = ops.reshape(
                features, (dynamic_shape[0], height * width, self._channels)
            )
            grid = (height, width)

        if self._projection is not None:
            sequence = self._projection(sequence)
        if self.position_embedding:
            sequence = sequence + self._position_projection(
                self._coordinate_features(*grid)
            )
        sequence = self.activation(sequence)
        if self.pooling == "avg":
            sequence = ops.mean(sequence, axis=1, keepdims=True)
        elif self.pooling == "max":
            sequence = ops.max(sequence, axis=1, keepdims=True)
        return self._dropout_layer(sequence, training=training)

    def _coordinate_features(self, height, width):
        """Sine/cosine features of each step's relative (row, column)."""
        rows = (ops.cast(ops.arange(height), "float32") + 0.5) / ops.cast(
            height, "float32"
        )
        columns = (ops.cast(ops.arange(width), "float32") + 0.5) / ops.cast(
            width, "float32"
        )
        row_grid = ops.reshape(
            ops.repeat(ops.expand_dims(rows, 1), width, axis=1), (-1,)
        )
        column_grid = ops.reshape(
            ops.repeat(ops.expand_dims(columns, 0), height, axis=0), (-1,)
        )
        coordinates = ops.stack([row_grid, column_grid], axis=-1)
        octaves = ops.cast(
            2.0 ** ops.arange(self.num_frequencies, dtype="float32") * math.pi,
            "float32",
        )
        angles = ops.reshape(
            ops.expand_dims(coordinates, -1) * octaves,
            (-1, 2 * self.num_frequencies),
        )
        coordinate_features = ops.concatenate(
            [ops.sin(angles), ops.cos(angles)], axis=-1
        )
        return ops.cast(coordinate_features, self.compute_dtype)

    def compute_output_shape(self, features_shape):
        features_shape = tuple(features_shape)
        _check_rank(features_shape)
        batch = features_shape[0]
        output_dim = (
            self.units if self.units is not None else features_shape[-1]
        )
        rank = len(features_shape)
        if self.pooling is not None or rank == 2:
            steps = 1
        elif rank == 3:
            steps = features_shape[1]
        else:
            height, width = features_shape[1], features_shape[2]
            steps = None if height is None or width is None else height * width
        return (batch, steps, output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": keras.activations.serialize(self.activation),
                "dropout": self.dropout,
                "pooling": self.pooling,
                "position_embedding": self.position_embedding,
                "num_frequencies": self.num_frequencies,
            }
        )
        return config


def _check_rank(features_shape):
    return _validation.check_rank(
        "features",
        features_shape,
        (2, 3, 4),
        "(batch, channels), (batch, steps, channels) or (batch, height, "
        "width, channels)",
    )
