import keras
from keras import ops

from keras_captioning.layers._validation import check_token_ids

CONDITIONING_MODES = (
    "init_inject",
    "pre_inject",
    "par_inject",
    "merge",
    "attention",
)
CELL_TYPES = ("lstm", "gru")
_RECURRENT_LAYERS = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}
_RECURRENT_CELLS = {"lstm": keras.layers.LSTMCell, "gru": keras.layers.GRUCell}
# Modes whose recurrent layers start from a state computed from the image.
_STATE_FROM_IMAGE = ("init_inject", "attention")


@keras.saving.register_keras_serializable(package="keras_captioning")
class CaptionDecoder(keras.layers.Layer):
    """Embedding and stacked LSTM/GRU that turn image features into words.

    The decoder reads a caption's token ids and the image features from
    `keras_captioning.layers.FeatureToSequence`, and returns one row of
    vocabulary logits per input token: the row at position `t` predicts token
    `t + 1`. Training uses teacher forcing: feed the caption without its last
    token and use the caption without its first token as the target.

    `conditioning` chooses where the image enters the language model, after
    Tanti et al. (2018) and Xu et al. (2015):

    - `"init_inject"`: the image sets the initial state of every recurrent
      layer, through separate learned `tanh` projections for `h` and `c`.
    - `"pre_inject"`: the image, projected to `embedding_dim`, is the first
      input step (Show and Tell). Its output step is dropped, so the logits
      stay aligned with `token_ids`.
    - `"par_inject"`: the projected image is concatenated to every word
      embedding.
    - `"merge"`: the recurrent layers see only words; the projected image joins
      their output just before the vocabulary projection.
    - `"attention"`: at every step, soft additive attention over all image
      steps gives a context vector that joins the word input (Show, Attend and
      Tell), optionally scaled by a learned scalar gate. The initial state is
      computed from the mean image feature as in `"init_inject"`, and the
      vocabulary projection reads the recurrent output and the context.

    Modes that need one image vector average `image_features` over its steps.
    The modes without attention run on `keras.layers.LSTM` / `keras.layers.GRU`
    themselves, so the fused kernels serve them where Keras has them (cuDNN on
    a GPU with the TensorFlow backend; Keras 3's JAX and PyTorch backends
    skip cuDNN when a padding mask is passed, as it is here); the attention
    mode runs its cells in a `keras.ops.scan` loop, since each step's input
    depends on the previous state.

    Masking: id `0` is padding. The layer returns a mask (`token_ids != 0`)
    with its logits, which Keras losses and metrics honour, and padded steps
    never change the outputs at real positions (the recurrence runs left to
    right and padding comes after the words). In attention mode padded steps
    leave the state unchanged.

    Generation uses the single-step API: `get_initial_state(image_features)`
    gives the recurrent state (a dict of tensors that also carries what the
    image contributes), and `step(token_ids, state)` costs one cell update per
    layer and returns the logits for the next token and the new state. Fed a
    caption token by token, `step` gives the teacher-forced logits.

    Mixed precision: every sub-layer follows the layer's `dtype_policy`; the
    attention softmax runs in float32. Apply softmax and losses to the logits
    in float32 (Keras losses do).

    Args:
        vocabulary_size: int. Number of tokens, padding (id 0) included.
        embedding_dim: int. Size of the word embeddings. Defaults to `256`.
        units: int. Size of each recurrent layer's state. Defaults to `512`.
        num_layers: int. Number of stacked recurrent layers. Defaults to `1`.
        cell: `"lstm"` or `"gru"`. Defaults to `"lstm"`.
        conditioning: one of `"init_inject"`, `"pre_inject"`, `"par_inject"`,
            `"merge"`, `"attention"`. Defaults to `"init_inject"`.
        dropout: float in `[0, 1)`. Dropout on word embeddings, between
            recurrent layers and before the vocabulary projection. In attention
            mode the mask between recurrent layers is drawn once per sequence.
            Defaults to `0.0`.
        attention_units: int or `None`. Size of the additive attention's
            hidden layer; `None` uses `units`. Attention mode only.
        attention_gate: bool. Whether a learned sigmoid gate computed from the
            previous state scales the context (Xu et al.'s beta). Attention
            mode only. Defaults to `True`.
        attention_regularization: float >= 0. Weight of the doubly stochastic
            attention regulariser of Xu et al., `sum_i (1 - sum_t a_ti)^2`,
            averaged over the batch and added with `add_loss`. The sum runs
            over image positions, so it grows with the feature map: weights
            around `1 / image_steps` (0.02 for a 7x7 map) balance it with the
            cross-entropy. Attention mode only. Defaults to `0.0`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`,
            including `name`, `trainable` and `dtype`.

    Call arguments:
        token_ids: int tensor `(batch, steps)`, a caption's token ids, `0`
            for padding.
        image_features: float tensor `(batch, image_steps, feature_dim)`, the
            output of `FeatureToSequence`.
        training: Python bool, whether dropout is active. Defaults to `None`.
        return_attention_scores: bool. Attention mode only: also return the
            attention weights. Defaults to `False`.

    Returns:
        Logits `(batch, steps, vocabulary_size)` carrying the padding mask; with
        `return_attention_scores=True`, a tuple `(logits, attention_weights)`
        with weights of shape `(batch, steps, image_steps)`.

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> decoder = keras_captioning.layers.CaptionDecoder(
    ...     vocabulary_size=100, embedding_dim=16, units=32,
    ...     conditioning="attention")
    >>> token_ids = np.array([[1, 5, 9, 2, 0]])
    >>> image_features = np.zeros((1, 49, 64), "float32")
    >>> logits, weights = decoder(
    ...     token_ids, image_features, return_attention_scores=True)
    >>> tuple(logits.shape), tuple(weights.shape)
    ((1, 5, 100), (1, 5, 49))
    >>> state = decoder.get_initial_state(image_features)
    >>> next_logits, state = decoder.step(np.array([1]), state)
    >>> tuple(next_logits.shape)
    (1, 100)

    References:
        - Vinyals et al., 2015. Show and Tell: A Neural Image Caption
          Generator.
        - Xu et al., 2015. Show, Attend and Tell: Neural Image Caption
          Generation with Visual Attention.
        - Tanti, Gatt and Camilleri, 2018. Where to put the image in an image
          caption generator.
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim=256,
        units=512,
        num_layers=1,
        cell="lstm",
        conditioning="init_inject",
        dropout=0.0,
        attention_units=None,
        attention_gate=True,
        attention_regularization=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_positive_int("vocabulary_size", vocabulary_size, minimum=2)
        _check_positive_int("embedding_dim", embedding_dim)
        _check_positive_int("units", units)
        _check_positive_int("num_layers", num_layers)
        if attention_units is not None:
            _check_positive_int("attention_units", attention_units)
        if cell not in CELL_TYPES:
            raise ValueError(
                f"`cell` must be one of {CELL_TYPES}. Received: cell={cell!r}"
            )
        if conditioning not in CONDITIONING_MODES:
            raise ValueError(
                f"`conditioning` must be one of {CONDITIONING_MODES}. "
                f"Received: conditioning={conditioning!r}"
            )
        if (
            not isinstance(dropout, (int, float))
            or isinstance(dropout, bool)
            or not 0.0 <= dropout < 1.0
        ):
            raise ValueError(
                "`dropout` must be a float in [0, 1). "
                f"Received: dropout={dropout!r}"
            )
        if not isinstance(attention_gate, bool):
            raise TypeError(
                "`attention_gate` must be a bool. "
                f"Received: attention_gate={attention_gate!r}"
            )
        if (
            not isinstance(attention_regularization, (int, float))
            or isinstance(attention_regularization, bool)
            or attention_regularization < 0
        ):
            raise ValueError(
                "`attention_regularization` must be a float >= 0. Received: "
                f"attention_regularization={attention_regularization!r}"
            )
        self.vocabulary_size = vocabulary_size
        self.embedding_dim = embedding_dim
        self.units = units
        self.num_layers = num_layers
        self.cell = cell
        self.conditioning = conditioning
        self.dropout = float(dropout)
        self.attention_units = attention_units
        self.attention_gate = attention_gate
        self.attention_regularization = float(attention_regularization)
        self._state_names = ("h", "c") if cell == "lstm" else ("h",)
        self._feature_dim = None

        policy = self.dtype_policy
        self._token_embedding = keras.layers.Embedding(
            vocabulary_size, embedding_dim, dtype=policy, name="token_embedding"
        )
        self._embedding_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="embedding_dropout"
        )
        self._inter_layer_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="inter_layer_dropout"
        )
        self._output_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="output_dropout"
        )
        self._logits_projection = keras.layers.Dense(
            vocabulary_size, dtype=policy, name="logits"
        )

        self._initial_state_projections = []
        if conditioning in _STATE_FROM_IMAGE:
            self._initial_state_projections = [
                [
                    keras.layers.Dense(
                        units,
                        activation="tanh",
                        dtype=policy,
                        name=f"initial_{state_name}_{index}",
                    )
                    for state_name in self._state_names
                ]
                for index in range(num_layers)
            ]

        self._image_embedding = None
        if conditioning in ("pre_inject", "par_inject"):
            self._image_embedding = keras.layers.Dense(
                embedding_dim, dtype=policy, name="image_embedding"
            )
        elif conditioning == "merge":
            self._image_embedding = keras.layers.Dense(
                units, dtype=policy, name="image_embedding"
            )

        if conditioning == "attention":
            self._recurrent_layers = []
            self._recurrent_cells = [
                _RECURRENT_CELLS[cell](
                    units, dtype=policy, name=f"{cell}_cell_{index}"
                )
                for index in range(num_layers)
            ]
            hidden = attention_units or units
            self._attention_key_projection = keras.layers.Dense(
                hidden, use_bias=False, dtype=policy, name="attention_keys"
            )
            self._attention_query_projection = keras.layers.Dense(
                hidden, dtype=policy, name="attention_query"
            )
            self._attention_score = keras.layers.Dense(
                1, dtype=policy, name="attention_score"
            )
            self._attention_gate_projection = (
                keras.layers.Dense(
                    1,
                    activation="sigmoid",
                    dtype=policy,
                    name="attention_gate",
                )
                if attention_gate
                else None
            )
        else:
            self._recurrent_layers = [
                _RECURRENT_LAYERS[cell](
                    units,
                    return_sequences=True,
                    return_state=True,
                    dtype=policy,
                    name=f"{cell}_{index}",
                )
                for index in range(num_layers)
            ]
            self._recurrent_cells = [
                layer.cell for layer in self._recurrent_layers
            ]

    # ------------------------------------------------------------------ build

    def build(self, token_ids_shape, image_features_shape):
        _check_image_features_rank(tuple(image_features_shape))
        feature_dim = image_features_shape[-1]
        if feature_dim is None:
            raise ValueError(
                "The last dimension of `image_features` must be known when "
                f"the layer is built. Received shape: {image_features_shape}"
            )
        self._feature_dim = feature_dim
        self._token_embedding.build(token_ids_shape)
        for projections in self._initial_state_projections:
            for projection in projections:
                projection.build((None, feature_dim))
        if self._image_embedding is not None:
            self._image_embedding.build((None, feature_dim))

        first_input_dim = self.embedding_dim
        if self.conditioning == "par_inject":
            first_input_dim = 2 * self.embedding_dim
        elif self.conditioning == "attention":
            first_input_dim = self.embedding_dim + feature_dim
        for index in range(self.num_layers):
            input_dim = first_input_dim if index == 0 else self.units
            if self._recurrent_layers:
                self._recurrent_layers[index].build((None, None, input_dim))
            else:
                self._recurrent_cells[index].build((None, input_dim))

        output_input_dim = self.units
        if self.conditioning == "merge":
            output_input_dim = 2 * self.units
        elif self.conditioning == "attention":
            output_input_dim = self.units + feature_dim
            hidden = self.attention_units or self.units
            self._attention_key_projection.build((None, None, feature_dim))
            self._attention_query_projection.build((None, self.units))
            self._attention_score.build((None, None, hidden))
            if self._attention_gate_projection is not None:
                self._attention_gate_projection.build((None, self.units))
        for dropout_layer in (
            self._embedding_dropout,
            self._inter_layer_dropout,
            self._output_dropout,
        ):
            dropout_layer.build(None)
        self._logits_projection.build((None, None, output_input_dim))

    # --------------------------------------------------------- teacher forced

    def call(
        self,
        token_ids,
        image_features,
        training=None,
        return_attention_scores=False,
    ):
        self._check_inputs(token_ids, image_features)
        if return_attention_scores and self.conditioning != "attention":
            raise ValueError(
                "`return_attention_scores=True` needs "
                "`conditioning='attention'`. This decoder uses "
                f"conditioning={self.conditioning!r}."
            )
        image_features = ops.cast(image_features, self.compute_dtype)
        mask = ops.not_equal(token_ids, 0)
        embedded = self._embedding_dropout(
            self._token_embedding(token_ids), training=training
        )
        if self.conditioning == "attention":
            outputs, attention_weights = self._attention_sequence(
                embedded, image_features, mask, training
            )
        else:
            outputs = self._recurrent_sequence(
                embedded, image_features, mask, training
            )
        logits = self._logits_projection(
            self._output_dropout(outputs, training=training)
        )
        if self.conditioning != "attention":
            return logits
        if self.attention_regularization > 0:
            self.add_loss(self._attention_penalty(attention_weights, mask))
        if return_attention_scores:
            return logits, attention_weights
        return logits

    def _recurrent_sequence(self, embedded, image_features, mask, training):
        image_vector = ops.mean(image_features, axis=1)
        inputs = embedded
        initial_states = [None] * self.num_layers
        if self.conditioning == "init_inject":
            initial_states = self._states_from_image(image_vector)
        elif self.conditioning == "pre_inject":
            image_step = ops.expand_dims(
                self._image_embedding(image_vector), axis=1
            )
            inputs = ops.concatenate([image_step, embedded], axis=1)
            image_mask = ops.ones_like(mask[:, :1])
            mask = ops.concatenate([image_mask, mask], axis=1)
        elif self.conditioning == "par_inject":
            inputs = ops.concatenate(
                [inputs, self._broadcast_over_time(image_vector, embedded)],
                axis=-1,
            )

        outputs = inputs
        for index, layer in enumerate(self._recurrent_layers):
            if index > 0:
                outputs = self._inter_layer_dropout(outputs, training=training)
            outputs = layer(
                outputs,
                initial_state=initial_states[index],
                mask=mask,
                training=training,
            )[0]

        if self.conditioning == "pre_inject":
            outputs = outputs[:, 1:]
        elif self.conditioning == "merge":
            outputs = ops.concatenate(
                [outputs, self._broadcast_over_time(image_vector, outputs)],
                axis=-1,
            )
        return outputs

    def _broadcast_over_time(self, image_vector, sequence):
        """The image embedding repeated at every step of `sequence`."""
        image_embedding = ops.expand_dims(
            self._image_embedding(image_vector), axis=1
        )
        return ops.zeros_like(sequence[..., :1]) + image_embedding

    def _attention_sequence(self, embedded, image_features, mask, training):
        attention_keys = self._attention_key_projection(image_features)
        states = self._states_from_image(ops.mean(image_features, axis=1))
        batch_size = ops.shape(embedded)[0]
        dropout_masks = [
            self._inter_layer_dropout(
                ops.ones((batch_size, self.units), self.compute_dtype),
                training=training,
            )
            for _ in range(self.num_layers - 1)
        ]

        # Keras's tensorflow `scan` stacks outputs with the structure of the
        # carry, so the step's outputs travel in the carry.
        def attend_and_update(carry, step_inputs):
            embedded_token, step_mask = step_inputs
            output, context, weights, new_states = self._attention_step(
                embedded_token,
                carry["states"],
                image_features,
                attention_keys,
                dropout_masks,
            )
            keep = ops.expand_dims(step_mask, axis=-1)
            new_carry = {
                "states": [
                    [ops.where(keep, new, old) for new, old in zip(*pair)]
                    for pair in zip(new_states, carry["states"])
                ],
                "outputs": output,
                "contexts": context,
                "weights": weights,
            }
            return new_carry, new_carry

        initial_carry = {
            "states": states,
            "outputs": ops.zeros((batch_size, self.units), self.compute_dtype),
            "contexts": ops.zeros_like(image_features[:, 0]),
            "weights": ops.zeros_like(
                ops.cast(image_features[..., 0], "float32")
            ),
        }
        time_major = (
            ops.transpose(embedded, (1, 0, 2)),
            ops.transpose(mask, (1, 0)),
        )
        _, stacked = ops.scan(attend_and_update, initial_carry, time_major)
        outputs = ops.concatenate(
            [stacked["outputs"], stacked["contexts"]], axis=-1
        )
        return (
            ops.transpose(outputs, (1, 0, 2)),
            ops.transpose(stacked["weights"], (1, 0, 2)),
        )

    def _attention_step(
        self,
        embedded_token,
        states,
        image_features,
        attention_keys,
        dropout_masks=(),
    ):
        """One attention step; returns output, context, weights, states."""
        query = states[-1][0]
        scores = self._attention_score(
            ops.tanh(
                attention_keys
                + ops.expand_dims(
                    self._attention_query_projection(query), axis=1
                )
            )
        )[..., 0]
        weights = ops.softmax(ops.cast(scores, "float32"), axis=-1)
        context = ops.einsum(
            "bs,bsd->bd", ops.cast(weights, self.compute_dtype), image_features
        )
        if self._attention_gate_projection is not None:
            context = context * self._attention_gate_projection(query)
        inputs = ops.concatenate([embedded_token, context], axis=-1)
        new_states = []
        for index, cell in enumerate(self._recurrent_cells):
            if index > 0 and dropout_masks:
                inputs = inputs * dropout_masks[index - 1]
            inputs, layer_state = cell(inputs, states[index])
            new_states.append(list(layer_state))
        return inputs, context, weights, new_states

    def _attention_penalty(self, attention_weights, mask):
        step_mask = ops.expand_dims(ops.cast(mask, "float32"), axis=-1)
        coverage = ops.sum(
            ops.cast(attention_weights, "float32") * step_mask, axis=1
        )
        penalty = ops.mean(ops.sum(ops.square(1.0 - coverage), axis=-1))
        return self.attention_regularization * penalty

    def _states_from_image(self, image_vector):
        return [
            [projection(image_vector) for projection in projections]
            for projections in self._initial_state_projections
        ]

    # ---------------------------------------------------------- single step

    def get_initial_state(self, image_features):
        """The decoder state before the first token, computed from the image.

        Args:
            image_features: float tensor `(batch, image_steps, feature_dim)`.

        Returns:
            A dict of tensors, each with the batch as its first dimension.
            It holds the recurrent state of every layer (`"h_0"`, `"c_0"`,
            ...) and what the image contributes at each step
            (`"image_embedding"`, or `"image_features"` and
            `"attention_keys"` in attention mode). Pass it to `step`;
            generation loops treat it as an opaque cache.
        """
        if not self.built:
            raise ValueError(
                "The decoder must be built before `get_initial_state`: call "
                "it once on a batch, or call `build`."
            )
        image_features = ops.convert_to_tensor(image_features)
        _check_image_features_rank(tuple(image_features.shape))
        self._check_feature_dim(image_features)
        image_features = ops.cast(image_features, self.compute_dtype)
        image_vector = ops.mean(image_features, axis=1)
        batch_size = ops.shape(image_features)[0]
        state = {}
        if self.conditioning in _STATE_FROM_IMAGE:
            layer_states = self._states_from_image(image_vector)
        else:
            zeros = ops.zeros((batch_size, self.units), self.compute_dtype)
            layer_states = [
                [zeros for _ in self._state_names]
                for _ in range(self.num_layers)
            ]
        if self.conditioning == "pre_inject":
            _, layer_states = self._cell_stack(
                self._image_embedding(image_vector), layer_states
            )
        elif self.conditioning in ("par_inject", "merge"):
            state["image_embedding"] = self._image_embedding(image_vector)
        elif self.conditioning == "attention":
            state["image_features"] = image_features
            state["attention_keys"] = self._attention_key_projection(
                image_features
            )
        state.update(self._flatten_layer_states(layer_states))
        return state

    def step(self, token_ids, state, return_attention_scores=False):
        """Advances the decoder by one token: one cell update per layer.

        Args:
            token_ids: int tensor `(batch,)`, the previous token of each row.
            state: the dict from `get_initial_state` or a previous `step`.
            return_attention_scores: bool. Attention mode only: also return
                the attention weights `(batch, image_steps)` of this step.

        Returns:
            `(logits, new_state)`, logits of shape `(batch, vocabulary_size)`;
            with `return_attention_scores=True`,
            `(logits, new_state, attention_weights)`.
        """
        if return_attention_scores and self.conditioning != "attention":
            raise ValueError(
                "`return_attention_scores=True` needs "
                "`conditioning='attention'`. This decoder uses "
                f"conditioning={self.conditioning!r}."
            )
        token_ids = ops.convert_to_tensor(token_ids)
        if len(token_ids.shape) != 1:
            raise ValueError(
                "`token_ids` for `step` must have shape (batch,). Received "
                f"shape {tuple(token_ids.shape)}."
            )
        check_token_ids(token_ids, self.vocabulary_size)
        return self._step(token_ids, state, return_attention_scores)

    def call_with_cache(self, token_ids, state):
        """`step` without input checks: the hook compiled generation calls.

        Returns `(logits, new_state, attention_scores)`, the scores `None`
        for decoders without attention.
        """
        if self.conditioning == "attention":
            return self._step(token_ids, state, return_attention_scores=True)
        logits, state = self._step(token_ids, state)
        return logits, state, None

    def _step(self, token_ids, state, return_attention_scores=False):
        """`step` without input checks, for compiled generation loops."""
        layer_states = self._unflatten_layer_states(state)
        embedded = self._token_embedding(token_ids)
        new_state = {
            key: value
            for key, value in state.items()
            if key in ("image_embedding", "image_features", "attention_keys")
        }
        if self.conditioning == "attention":
            outputs, context, weights, layer_states = self._attention_step(
                embedded,
                layer_states,
                state["image_features"],
                state["attention_keys"],
            )
            outputs = ops.concatenate([outputs, context], axis=-1)
        else:
            if self.conditioning == "par_inject":
                embedded = ops.concatenate(
                    [embedded, state["image_embedding"]], axis=-1
                )
            outputs, layer_states = self._cell_stack(embedded, layer_states)
            if self.conditioning == "merge":
                outputs = ops.concatenate(
                    [outputs, state["image_embedding"]], axis=-1
                )
        new_state.update(self._flatten_layer_states(layer_states))
        logits = self._logits_projection(outputs)
        if return_attention_scores:
            return logits, new_state, weights
        return logits, new_state

    def _cell_stack(self, inputs, layer_states):
        new_states = []
        for index, cell in enumerate(self._recurrent_cells):
            inputs, layer_state = cell(inputs, layer_states[index])
            new_states.append(list(layer_state))
        return inputs, new_states

    def _flatten_layer_states(self, layer_states):
        return {
            f"{name}_{index}": tensor
            for index, states in enumerate(layer_states)
            for name, tensor in zip(self._state_names, states)
        }

    def _unflatten_layer_states(self, state):
        try:
            return [
                [state[f"{name}_{index}"] for name in self._state_names]
                for index in range(self.num_layers)
            ]
        except KeyError as error:
            raise ValueError(
                "`state` is missing the entry "
                f"{error.args[0]!r}. Pass the dict returned by "
                "`get_initial_state` or by a previous `step`. Received keys: "
                f"{sorted(state)}"
            ) from None

    # ------------------------------------------------------------ utilities

    def _check_inputs(self, token_ids, image_features):
        if len(token_ids.shape) != 2:
            raise ValueError(
                "`token_ids` must have shape (batch, steps). Received shape "
                f"{tuple(token_ids.shape)}."
            )
        check_token_ids(token_ids, self.vocabulary_size)
        _check_image_features_rank(tuple(image_features.shape))
        self._check_feature_dim(image_features)

    def _check_feature_dim(self, image_features):
        feature_dim = image_features.shape[-1]
        if feature_dim is not None and feature_dim != self._feature_dim:
            raise ValueError(
                "`image_features` has a different feature size than the layer "
                f"was built for: expected {self._feature_dim}, received "
                f"{feature_dim} (shape {tuple(image_features.shape)})."
            )

    def compute_mask(self, token_ids, previous_mask=None):
        return ops.not_equal(token_ids, 0)

    def compute_output_shape(
        self, token_ids_shape, image_features_shape, **kwargs
    ):
        token_ids_shape = tuple(token_ids_shape)
        image_features_shape = tuple(image_features_shape)
        logits_shape = (*token_ids_shape[:2], self.vocabulary_size)
        if kwargs.get("return_attention_scores"):
            return logits_shape, (*token_ids_shape[:2], image_features_shape[1])
        return logits_shape

    def compute_output_spec(
        self,
        token_ids,
        image_features,
        training=None,
        return_attention_scores=False,
    ):
        logits_shape = (*token_ids.shape[:2], self.vocabulary_size)
        logits = keras.KerasTensor(logits_shape, dtype=self.compute_dtype)
        if return_attention_scores:
            weights_shape = (*token_ids.shape[:2], image_features.shape[1])
            return logits, keras.KerasTensor(weights_shape, dtype="float32")
        return logits

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "units": self.units,
                "num_layers": self.num_layers,
                "cell": self.cell,
                "conditioning": self.conditioning,
                "dropout": self.dropout,
                "attention_units": self.attention_units,
                "attention_gate": self.attention_gate,
                "attention_regularization": self.attention_regularization,
            }
        )
        return config


def _check_positive_int(name, value, minimum=1):
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}. "
            f"Received: {name}={value!r}"
        )


def _check_image_features_rank(shape):
    if len(shape) != 3:
        raise ValueError(
            "`image_features` must have shape (batch, image_steps, "
            f"feature_dim). Received shape {shape}. Pass CNN outputs through "
            "`keras_captioning.layers.FeatureToSequence` first."
        )
