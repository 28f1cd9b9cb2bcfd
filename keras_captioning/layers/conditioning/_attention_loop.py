"""Pieces shared by the modes that attend at every step.

Private to the package: `AttentionScorer` (additive attention scores) and
`scan_steps` (a step function run over a caption with `keras.ops.scan`).
"""

import keras
from keras import ops

from keras_captioning.layers.conditioning._scan import scan_carries


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
