"""The stacked LSTM/GRU shared by the conditioning modes.

Private to the package: modes create a `RecurrentStack` in `configure` and
call its methods; users see only the modes.
"""

import keras
from keras import ops

from keras_captioning.layers.conditioning.conditioning import Conditioning

_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
_CELLS = {"lstm": keras.layers.LSTMCell, "gru": keras.layers.GRUCell}
_STATE_NAMES = {"lstm": ("h", "c"), "gru": ("h",)}


class RecurrentStack(keras.layers.Layer):
    """`num_layers` recurrent layers, for whole sequences and single steps.

    With `fused=True` the stack holds `keras.layers.LSTM` / `GRU` layers, so
    the fused kernels (cuDNN) serve teacher forcing, and single steps run
    their cells. With `fused=False` it holds bare cells, for modes whose
    step input depends on the previous state (attention).

    With `state_from_image=True` the initial state of every layer is a
    learned `tanh` projection of the mean image feature (one per layer and
    per state tensor); otherwise it is zero.

    The state is a list with one list per layer: `[[h, c], ...]` for LSTM,
    `[[h], ...]` for GRU.
    """

    def __init__(
        self,
        units,
        num_layers,
        cell,
        dropout,
        fused=True,
        state_from_image=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = units
        self.num_layers = num_layers
        self.state_names = _STATE_NAMES[cell]
        policy = self.dtype_policy
        if fused:
            self.recurrent_layers = [
                _LAYERS[cell](
                    units,
                    return_sequences=True,
                    return_state=True,
                    dtype=policy,
                    name=f"{cell}_{index}",
                )
                for index in range(num_layers)
            ]
            self.cells = [layer.cell for layer in self.recurrent_layers]
        else:
            self.recurrent_layers = []
            self.cells = [
                _CELLS[cell](units, dtype=policy, name=f"{cell}_cell_{index}")
                for index in range(num_layers)
            ]
        self.inter_layer_dropout = keras.layers.Dropout(
            dropout, dtype=policy, name="inter_layer_dropout"
        )
        # One projection per layer and state tensor, layer by layer: h_0,
        # c_0, h_1, ... (a flat list keeps the saved layout flat).
        self.state_projections = []
        if state_from_image:
            self.state_projections = [
                keras.layers.Dense(
                    units,
                    activation="tanh",
                    dtype=policy,
                    name=f"initial_{state_name}_{index}",
                )
                for index in range(num_layers)
                for state_name in self.state_names
            ]

    def build(self, input_dim, feature_dim):
        for index in range(self.num_layers):
            layer_input_dim = input_dim if index == 0 else self.units
            if self.recurrent_layers:
                self.recurrent_layers[index].build(
                    (None, None, layer_input_dim)
                )
            else:
                self.cells[index].build((None, layer_input_dim))
        for projection in self.state_projections:
            projection.build((None, feature_dim))
        self.inter_layer_dropout.build(None)

    def initial_state(self, image_features):
        """Projected from the mean image feature, or zeros."""
        if self.state_projections:
            image_vector = ops.mean(image_features, axis=1)
            return self._per_layer(
                [
                    projection(image_vector)
                    for projection in self.state_projections
                ]
            )
        zeros = ops.zeros(
            (ops.shape(image_features)[0], self.units), self.compute_dtype
        )
        return [
            [zeros for _ in self.state_names] for _ in range(self.num_layers)
        ]

    def run(self, inputs, initial_state=None, mask=None, training=None):
        """A whole sequence through the fused layers; returns the outputs."""
        initial_state = initial_state or [None] * self.num_layers
        outputs = inputs
        for index, layer in enumerate(self.recurrent_layers):
            if index > 0:
                outputs = self.inter_layer_dropout(outputs, training=training)
            outputs = layer(
                outputs,
                initial_state=initial_state[index],
                mask=mask,
                training=training,
            )[0]
        return outputs

    def dropout_masks(self, batch_size, training=None):
        """Inter-layer dropout masks drawn once, for a loop over steps."""
        ones = ops.ones((batch_size, self.units), self.compute_dtype)
        return [
            self.inter_layer_dropout(ones, training=training)
            for _ in range(self.num_layers - 1)
        ]

    def step(self, inputs, states, dropout_masks=()):
        """One step through every cell; returns `(outputs, new_states)`."""
        new_states = []
        for index, cell in enumerate(self.cells):
            if index > 0 and dropout_masks:
                inputs = inputs * dropout_masks[index - 1]
            inputs, layer_state = cell(inputs, states[index])
            new_states.append(list(layer_state))
        return inputs, new_states

    def input_projection(self, inputs, start, stop=None, use_bias=True):
        """The first layer's input kernel rows `start:stop` applied to
        `inputs` (plus the layer's input bias when `use_bias`).

        For a mode whose first-layer input is a concatenation with parts
        that do not depend on the recurrent state (a word embedding, an
        image vector): it projects those parts for every step at once,
        outside the loop, and `step_projected` adds the rest. Only for
        `fused=False` stacks of the package's own cells.
        """
        cell = self.cells[0]
        kernel = ops.cast(cell.kernel, self.compute_dtype)[start:stop]
        projected = ops.matmul(inputs, kernel)
        if use_bias and cell.use_bias:
            projected = projected + _input_bias(cell, self.compute_dtype)
        return projected

    def step_projected(self, inputs, projected, states, dropout_masks=()):
        """`step`, the first layer's input being `[inputs, rest]`, where
        `projected` is the sum of `input_projection` over the parts of
        `rest` (its input bias included): the same maths as the cells'
        own `call`, with the constant part of the input projected once.
        """
        cell = self.cells[0]
        kernel = ops.cast(cell.kernel, self.compute_dtype)
        gates = projected + ops.matmul(inputs, kernel[: ops.shape(inputs)[-1]])
        outputs, first_state = _cell_update(cell, gates, states[0])
        new_states = [first_state]
        for index, cell in enumerate(self.cells[1:], start=1):
            if dropout_masks:
                outputs = outputs * dropout_masks[index - 1]
            outputs, layer_state = cell(outputs, states[index])
            new_states.append(list(layer_state))
        return outputs, new_states

    def _per_layer(self, values):
        """A flat list, layer by layer, as one list per layer."""
        count = len(self.state_names)
        return [
            list(values[index : index + count])
            for index in range(0, len(values), count)
        ]

    def saved_weight_aliases(self):
        """Where files of the single-class decoder kept these weights."""
        aliases = {"_recurrent_cells": self.cells}
        if self.state_projections:
            aliases["_initial_state_projections"] = self._per_layer(
                self.state_projections
            )
        return aliases


def _input_bias(cell, dtype):
    bias = ops.cast(cell.bias, dtype)
    if isinstance(cell, keras.layers.GRUCell) and cell.reset_after:
        return bias[0]
    return bias


def _cell_update(cell, gates, state):
    """One step of an `LSTMCell` or `GRUCell` (Keras's maths, its default
    options) from its input's gate pre-activations `gates` (the input
    projection and the input bias); returns `(h, new_state)`."""
    activation, recurrent_activation = (
        cell.activation,
        cell.recurrent_activation,
    )
    h_tm1 = state[0]
    recurrent_kernel = ops.cast(cell.recurrent_kernel, gates.dtype)
    inner = ops.matmul(h_tm1, recurrent_kernel)
    if isinstance(cell, keras.layers.LSTMCell):
        z0, z1, z2, z3 = ops.split(gates + inner, 4, axis=-1)
        forget, write = recurrent_activation(z1), recurrent_activation(z0)
        c = forget * state[1] + write * activation(z2)
        h = recurrent_activation(z3) * activation(c)
        return h, [h, c]
    if not cell.reset_after:
        raise ValueError("`step_projected` needs a GRU with reset_after.")
    if cell.use_bias:
        inner = inner + ops.cast(cell.bias, gates.dtype)[1]
    x_z, x_r, x_h = ops.split(gates, 3, axis=-1)
    inner_z, inner_r, inner_h = ops.split(inner, 3, axis=-1)
    z = recurrent_activation(x_z + inner_z)
    r = recurrent_activation(x_r + inner_r)
    hh = activation(x_h + r * inner_h)
    h = z * h_tm1 + (1 - z) * hh
    return h, [h]


class StackedConditioning(Conditioning):
    """What the modes on a fused `RecurrentStack` share; not registered.

    A subclass sets `state_from_image` and, when it reads an image vector,
    `image_embedding_dim` (`"embedding_dim"` or `"units"`: the size of the
    projected mean image feature), and writes `call`, `get_initial_state`
    and `call_with_cache` itself, side by side. `input_dim` is what the
    first recurrent layer reads per step.
    """

    state_from_image = False
    image_embedding_dim = None

    def configure(self, embedding_dim, units, num_layers, cell, dropout):
        super().configure(embedding_dim, units, num_layers, cell, dropout)
        self._stack = RecurrentStack(
            units,
            num_layers,
            cell,
            dropout,
            state_from_image=self.state_from_image,
            dtype=self.dtype_policy,
            name="recurrent_stack",
        )
        self._image_embedding = None
        if self.image_embedding_dim is not None:
            self._image_embedding = keras.layers.Dense(
                getattr(self, self.image_embedding_dim),
                dtype=self.dtype_policy,
                name="image_embedding",
            )

    @property
    def input_dim(self):
        return self.embedding_dim

    @property
    def output_dim(self):
        return self.units

    def build(self, embeddings_shape, image_features_shape):
        self._require_configured()
        feature_dim = image_features_shape[-1]
        self._stack.build(self.input_dim, feature_dim)
        if self._image_embedding is not None:
            self._image_embedding.build((None, feature_dim))

    def image_vector(self, image_features):
        """The projected mean image feature, `(batch, image_embedding_dim)`."""
        return self._image_embedding(ops.mean(image_features, axis=1))

    def state_with_image(self, image_features):
        """`{"layers": [...], "image": {"embedding": e}}`: the state of a
        mode that reads the image vector `e` at every step."""
        return {
            "layers": self._stack.initial_state(image_features),
            "image": {"embedding": self.image_vector(image_features)},
        }

    def saved_weight_aliases(self):
        aliases = self._stack.saved_weight_aliases()
        if self._image_embedding is not None:
            aliases["_image_embedding"] = self._image_embedding
        return aliases


def repeat_over_time(vector, sequence):
    """`vector` `(batch, dim)` repeated at every step of `sequence`."""
    return ops.zeros_like(sequence[..., :1]) + ops.expand_dims(vector, axis=1)
