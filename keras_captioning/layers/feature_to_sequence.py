import math

import keras
from keras import ops

from keras_captioning import _validation

_POOLING_MODES = ("avg", "max")
_POSITION_ENCODINGS = (
    "none",
    "learned",
    "learned_random_start",
    "coordinates",
)
# Measured on captions that name places (docs/places.rst).
_DEFAULT_POSITION_ENCODING = "learned"


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

    Each step can then be told its place, projected to `units`, passed
    through an activation, pooled to a single step and regularised with
    dropout, in that order.

    Every way of telling a step its place is size-free: a step of a feature
    map is described by its relative coordinates, so the same weights serve
    a 7x7 and a 14x14 map, with no maximum size. `position_encoding` picks
    one:

    - `"none"`: the steps carry only what the CNN put in them (zero padding
      already marks the edges of a feature map).
    - `"learned"`: the relative coordinates `((row + 0.5) / height,
      (column + 0.5) / width)` in `[0, 1]` are expanded into sine and cosine
      features of `num_frequencies` octaves and mapped by a learned dense
      layer to the step's size, then added after the projection. The map
      starts at zero, so training starts from `"none"` and learns as much
      place as the captions ask for.
    - `"learned_random_start"`: the same map, started at random (Glorot
      uniform) like any dense layer, which adds a fixed random code to every
      step from the first step. This is what `position_embedding=True`
      meant before `position_encoding` existed, and what it still means.
    - `"coordinates"`: two channels, the normalised row and column
      `2 * (row + 0.5) / height - 1` and `2 * (column + 0.5) / width - 1` in
      `(-1, 1)`, are concatenated to every step before the projection
      (CoordConv). It adds no weights of its own, only two inputs to the
      projection; with `units=None` the steps keep their channels and gain
      the two coordinates.

    Sequences (rank 3) use the relative position of each step for the row
    and the centre for the column; a pooled vector has one step at the
    centre.

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
        position_encoding: `"none"`, `"learned"`, `"learned_random_start"`
            or `"coordinates"`, how each step is told its place (see above).
            Defaults to `None`, which gives `"learned"` unless
            `position_embedding` is given.
        position_embedding: bool or `None`. The earlier spelling, kept so
            older code and saved models read as before: `True` means
            `position_encoding="learned_random_start"`, `False` means
            `"none"`. Give one of the two arguments, not both. Defaults to
            `None`.
        num_frequencies: int. Octaves of the sine/cosine coordinate features
            fed to the learned encodings. Defaults to `8`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`,
            including `name`, `trainable` and `dtype`.

    Call arguments:
        features: float tensor of rank 2, 3 or 4, the output of a CNN.
        training: Python bool, whether the layer runs in training mode
            (dropout is active). Defaults to `None`, Keras's learning phase.

    Returns:
        Float tensor of shape `(batch, steps, dim)` where `dim` is `units`, or
        when `units` is `None` the channel count (plus two with
        `position_encoding="coordinates"`).

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> layer = keras_captioning.layers.FeatureToSequence(units=32)
    >>> tuple(layer(np.zeros((2, 7, 7, 512), "float32")).shape)
    (2, 49, 32)
    >>> tuple(layer.compute_output_shape((None, None, None, 512)))
    (None, None, 32)
    >>> placed = keras_captioning.layers.FeatureToSequence(
    ...     units=32, position_encoding="coordinates"
    ... )
    >>> tuple(placed(np.zeros((2, 5, 9, 512), "float32")).shape)
    (2, 45, 32)
    """

    def __init__(
        self,
        units=None,
        activation=None,
        dropout=0.0,
        pooling=None,
        position_encoding=None,
        position_embedding=None,
        num_frequencies=8,
        **kwargs,
    ):
        super().__init__(**kwargs)
        units = _validation.check_int("units", units, allow_none=True)
        dropout = _validation.check_fraction("dropout", dropout)
        if pooling is not None:
            _validation.check_choice("pooling", pooling, _POOLING_MODES)
        position_encoding = _resolve_position_encoding(
            position_encoding, position_embedding
        )
        num_frequencies = _validation.check_int(
            "num_frequencies", num_frequencies
        )
        self.units = units
        self.activation = keras.activations.get(activation)
        self.dropout = float(dropout)
        self.pooling = pooling
        self.position_encoding = position_encoding
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
        input_dim = channels + self._num_coordinate_channels
        output_dim = self.units if self.units is not None else input_dim
        if self._projection is not None:
            self._projection.build((None, None, input_dim))
        if self.position_encoding in ("learned", "learned_random_start"):
            self._position_projection = keras.layers.Dense(
                output_dim,
                kernel_initializer=(
                    "zeros"
                    if self.position_encoding == "learned"
                    else "glorot_uniform"
                ),
                dtype=self.dtype_policy,
                name="position_projection",
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

        if self.position_encoding == "coordinates":
            sequence = self._with_coordinate_channels(sequence, grid)
        if self._projection is not None:
            sequence = self._projection(sequence)
        if self._position_projection is not None:
            sequence = sequence + self._position_projection(
                self._coordinate_features(*grid)
            )
        sequence = self.activation(sequence)
        if self.pooling == "avg":
            sequence = ops.mean(sequence, axis=1, keepdims=True)
        elif self.pooling == "max":
            sequence = ops.max(sequence, axis=1, keepdims=True)
        return self._dropout_layer(sequence, training=training)

    @property
    def _num_coordinate_channels(self):
        return 2 if self.position_encoding == "coordinates" else 0

    def _with_coordinate_channels(self, sequence, grid):
        """`sequence` with each step's row and column in (-1, 1) appended."""
        coordinates = 2.0 * _relative_coordinates(*grid) - 1.0
        coordinates = ops.cast(coordinates, sequence.dtype)
        coordinates = ops.broadcast_to(
            ops.expand_dims(coordinates, 0),
            (ops.shape(sequence)[0], ops.shape(coordinates)[0], 2),
        )
        return ops.concatenate([sequence, coordinates], axis=-1)

    def _coordinate_features(self, height, width):
        """Sine/cosine features of each step's relative (row, column)."""
        coordinates = _relative_coordinates(height, width)
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
        if self.units is not None:
            output_dim = self.units
        elif features_shape[-1] is None:
            output_dim = None
        else:
            output_dim = features_shape[-1] + self._num_coordinate_channels
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
                "position_encoding": self.position_encoding,
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


def _resolve_position_encoding(position_encoding, position_embedding):
    """`position_encoding`, from either spelling (the old one is a bool)."""
    if position_embedding is not None:
        position_embedding = _validation.check_bool(
            "position_embedding", position_embedding
        )
        old_spelling = "learned_random_start" if position_embedding else "none"
        if position_encoding is not None and position_encoding != old_spelling:
            raise ValueError(
                "`position_embedding` is the earlier spelling of "
                "`position_encoding`; give one of them. Received: "
                f"position_encoding={position_encoding!r}, "
                f"position_embedding={position_embedding!r}"
            )
        return old_spelling
    if position_encoding is None:
        return _DEFAULT_POSITION_ENCODING
    return _validation.check_choice(
        "position_encoding", position_encoding, _POSITION_ENCODINGS
    )


def _relative_coordinates(height, width):
    """Each step's `((row + 0.5) / height, (column + 0.5) / width)`, row-major.

    Returns a float32 tensor `(height * width, 2)` with values in `(0, 1)`.
    """
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
    return ops.stack([row_grid, column_grid], axis=-1)
