"""Pieces shared by the modes that attend at every step.

Private to the package: `AttendingConditioning` (the base of `"attention"`,
`"top_down"` and `"adaptive_attention"`), `AttentionScorer` (additive
attention scores) and `scan_steps` (a step function run over a caption with
`keras.ops.scan`).
"""

import keras
from keras import ops

from keras_captioning import _validation
from keras_captioning.layers.conditioning._recurrent_stack import RecurrentStack
from keras_captioning.layers.conditioning._scan import scan_carries
from keras_captioning.layers.conditioning.conditioning import Conditioning


class AttendingConditioning(Conditioning):
    """What the modes that attend over the image share; not registered.

    The `attention_units` option (checked, kept in `get_config`), the
    unfused recurrent stacks a step-by-step loop needs (`recurrent_stack`),
    the image entries of the state (`image_state`) and the scan of a whole
    caption through one step function (`scan_attention`). A subclass
    creates `self._scorer` (an `AttentionScorer`) in `configure` and keeps
    its sub-layers' attribute names: `.keras` files store weights under
    them.
    """

    returns_attention_scores = True
    # Whether the vocabulary projection reads the attended image feature
    # next to the recurrent output (`output_dim` is then `units +
    # feature_dim`).
    context_in_output = True

    def __init__(self, attention_units=None, **kwargs):
        super().__init__(**kwargs)
        self.attention_units = _validation.check_int(
            "attention_units", attention_units, allow_none=True
        )
        self._feature_dim = None

    @property
    def output_dim(self):
        if not self.context_in_output:
            return self.units
        if self._feature_dim is None:
            raise ValueError(
                f"The {type(self).__name__} mode's `output_dim` (units + "
                "feature size) is known once the layer is built."
            )
        return self.units + self._feature_dim

    def build(self, embeddings_shape, image_features_shape):
        """Keeps the feature size; a subclass then builds its layers."""
        super().build(embeddings_shape, image_features_shape)
        self._feature_dim = image_features_shape[-1]

    def recurrent_stack(self, num_layers, dropout, name, **kwargs):
        """A `RecurrentStack` of `units` cells run one step at a time."""
        return RecurrentStack(
            self.units,
            num_layers,
            self.cell,
            dropout,
            fused=False,
            dtype=self.dtype_policy,
            name=name,
            **kwargs,
        )

    def image_state(self, features, **entries):
        """`{"features", "keys", **entries}`: what is attended, its keys
        (projected once per caption) and a mode's other image entries."""
        return {
            "features": features,
            "keys": self._scorer.keys(features),
            **entries,
        }

    def scan_attention(self, step_fn, inputs, state, stack, mask, training):
        """`step_fn` over every step of a caption: `(outputs, weights)`.

        Args:
            step_fn: `step_fn(inputs, state, dropout_masks) -> (outputs,
                new_state, weights)`, one step, as `call_with_cache` runs it.
            inputs: `(batch, steps, ...)`, what `step_fn` reads per step.
            state: `get_initial_state(image_features)`.
            stack: the `RecurrentStack` whose dropout masks are drawn once
                per caption.
            mask, training: the call's.
        """
        batch_size = ops.shape(inputs)[0]
        dropout_masks = stack.dropout_masks(batch_size, training)
        image = state["image"]

        def step(step_inputs, recurrent):
            outputs, new_state, weights = step_fn(
                step_inputs, {**recurrent, "image": image}, dropout_masks
            )
            return {key: new_state[key] for key in recurrent}, (
                outputs,
                weights,
            )

        initial_outputs = (
            ops.zeros((batch_size, self.output_dim), self.compute_dtype),
            ops.zeros_like(ops.cast(image["features"][..., 0], "float32")),
        )
        recurrent = {key: value for key, value in state.items()}
        del recurrent["image"]
        return scan_steps(step, recurrent, initial_outputs, inputs, mask)

    def get_config(self):
        config = super().get_config()
        config.update({"attention_units": self.attention_units})
        return config


class AttentionScorer(keras.layers.Layer):
    """Additive attention scores `w . tanh(keys + W_q query)`.

    `keys(values)` projects the attended values once per caption (no bias);
    `scores(keys, query)` scores every key against a query with one more
    axis before the last, so a query `(batch, units)` scores keys `(batch,
    positions, hidden)` and a query `(batch, steps, units)` scores keys
    `(batch, 1, positions, hidden)`. `score_bias` adds a bias to every
    score (it cancels in the softmax; `"attention"`'s files hold one).
    """

    def __init__(self, units, score_bias=False, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.score_bias = score_bias
        policy = self.dtype_policy
        self.key_projection = keras.layers.Dense(
            units, use_bias=False, dtype=policy, name="attention_keys"
        )
        self.query_projection = keras.layers.Dense(
            units, dtype=policy, name="attention_query"
        )
        self.score = keras.layers.Dense(
            1, use_bias=score_bias, dtype=policy, name="attention_score"
        )

    def build(self, value_dim, query_dim):
        self.key_projection.build((None, None, value_dim))
        self.query_projection.build((None, None, query_dim))
        self.score.build((None, None, None, self.units))

    def keys(self, values):
        return self.key_projection(values)

    def scores(self, keys, query):
        query = ops.expand_dims(self.query_projection(query), axis=-2)
        return self.score(ops.tanh(keys + query))[..., 0]

    def attend(self, keys, values, query):
        """One step's attention: `(weights, context)`.

        `keys` `(batch, positions, hidden)` from `keys(values)`, `values`
        `(batch, positions, dim)`, `query` `(batch, query_dim)`. The
        softmax runs in float32 (`weights`); `context` is the weighted sum
        of `values` in the compute dtype.
        """
        scores = self.scores(keys, query)
        weights = ops.softmax(ops.cast(scores, "float32"), axis=-1)
        context = ops.einsum(
            "bs,bsd->bd", ops.cast(weights, self.compute_dtype), values
        )
        return weights, context


def scan_steps(step, state, initial_outputs, embeddings, mask):
    """Runs `step` over the steps of a caption.

    Args:
        step: function `(embedding, state) -> (new_state, outputs)`, one
            step, embedding `(batch, embedding_dim)`.
        state: the initial recurrent state, a nested structure.
        initial_outputs: zeros with the structure, shapes and dtypes of
            `outputs` (the loop's carry needs them).
        embeddings: `(batch, steps, embedding_dim)`.
        mask: bool `(batch, steps)` or `None`; at a masked step the state
            stays unchanged.

    Returns:
        The outputs of every step, stacked, batch first.
    """
    if mask is None:
        mask = ops.ones(ops.shape(embeddings)[:2], "bool")

    # The step's outputs travel in the carry; the scan stacks the carries.
    def body(carry, step_inputs):
        embedding, step_mask = step_inputs
        new_state, outputs = step(embedding, carry["state"])
        keep = ops.expand_dims(step_mask, axis=-1)
        new_carry = {
            "state": keras.tree.map_structure(
                lambda new, old: ops.where(keep, new, old),
                new_state,
                carry["state"],
            ),
            "outputs": outputs,
        }
        return new_carry

    time_major = (
        ops.transpose(embeddings, (1, 0, 2)),
        ops.transpose(mask, (1, 0)),
    )
    stacked = scan_carries(
        body, {"state": state, "outputs": initial_outputs}, time_major
    )
    return keras.tree.map_structure(
        lambda tensor: ops.moveaxis(tensor, 0, 1), stacked["outputs"]
    )
