import keras
from keras import ops

from keras_captioning.layers.conditioning._attention_loop import (
    AttendingConditioning,
)
from keras_captioning.layers.conditioning._attention_loop import AttentionScorer
from keras_captioning.layers.conditioning._attention_loop import scan_steps
from keras_captioning.layers.conditioning.registry import register


@register("adaptive_attention")
@keras.saving.register_keras_serializable(package="keras_captioning")
class AdaptiveAttention(AttendingConditioning):
    """Attention that may look at a visual sentinel instead of the image.

    The adaptive attention of Lu et al. ("Knowing When to Look"). The image
    steps `a[i]` become `v[i] = relu(W_a a[i])` and their mean
    `v_g = relu(W_b mean(a))`, both of size `units`. At step `t`:

    1. the recurrent layers read `x[t] = [w[t]; v_g]` (word embedding and
       global image vector): `h[t], m[t]` (output and memory cell of the
       last layer);
    2. the visual sentinel is `s[t] = g[t] * tanh(m[t])`, with the gate
       `g[t] = sigmoid(W_x x[t] + W_h h[t-1])`: what the model knows
       without looking;
    3. the current output `h[t]` attends over the `k` image steps and the
       sentinel together, `z[i] = w . tanh(W_v v[i] + W_g h[t])` and
       `z_s = w . tanh(W_s s[t] + W_g h[t])`; the softmax over the `k + 1`
       scores gives `alpha` and the sentinel weight `beta[t]`, and the
       context is `c_hat[t] = beta[t] s[t] + (1 - beta[t]) c[t]`, `c[t]`
       the attention-weighted image (one softmax over `k + 1` positions
       gives exactly this mix);
    4. the vocabulary projection reads `c_hat[t] + h[t]` (`output_dim` is
       `units`). The sum is the paper's equation; it keeps the projection
       as wide as the recurrent output and lets `h[t]` alone carry the
       words that need no image.

    The attention scores are `(batch, steps, image_steps + 1)`: the image
    weights, which sum to `1 - beta`, then `beta`, the per-word answer to
    "is the model looking?" (`keras_captioning.visualization.plot_attention`
    draws it under the maps).

    `num_layers` stacks recurrent layers as in the other modes: the first
    reads `x[t]`, the sentinel comes from the last layer's memory cell and
    its gate reads `x[t]` and the last layer's previous output (with one
    layer, exactly the paper). `cell="gru"` has no memory cell: the GRU's
    new state `h[t]` takes the place of `m[t]` in the sentinel. Every
    layer starts from a zero state, as in the paper.

    The recurrent layers and the sentinel run in a `keras.ops.scan` loop
    (padded steps leave the state unchanged); the attention, which depends
    only on the current step, then runs for all steps at once. The softmax
    runs in float32. No attention regulariser is offered: the sentinel lets
    a word take no image weight at all, which a coverage penalty would
    fight. Chosen with `CaptionDecoder(conditioning="adaptive_attention")`.

    Cost per step: one recurrent update per layer plus an attention over
    `image_steps + 1` positions; the image is projected to `units` once per
    caption.

    State: `{"layers": [[h, c], ...], "image": {"features": v, "keys":
    W_v v, "mean": v_g}}`.

    Args:
        attention_units: int or `None`. Size of the attention's hidden
            layer; `None` uses `units`. Defaults to `None`.
        **kwargs: keyword arguments of `keras.layers.Layer`.

    Example:

    >>> decoder = keras_captioning.layers.CaptionDecoder(
    ...     vocabulary_size=20, embedding_dim=4, units=6,
    ...     conditioning="adaptive_attention")
    >>> _, scores = decoder(
    ...     np.array([[1, 5, 2]]), np.zeros((1, 9, 8)),
    ...     return_attention_scores=True)
    >>> # The last of the 10 columns is the visual sentinel's weight.
    >>> scores = keras.ops.convert_to_numpy(scores)
    >>> scores.shape, bool(np.allclose(scores.sum(axis=-1), 1.0))
    ((1, 3, 10), True)

    Reference:
        - Lu, Xiong, Parikh and Socher, 2017. Knowing When to Look: Adaptive
          Attention via a Visual Sentinel for Image Captioning.
    """

    def configure(self, embedding_dim, units, num_layers, cell, dropout):
        super().configure(embedding_dim, units, num_layers, cell, dropout)
        policy = self.dtype_policy
        self._stack = self.recurrent_stack(
            num_layers, dropout, "recurrent_stack"
        )
        self._image_projection = keras.layers.Dense(
            units, activation="relu", dtype=policy, name="image_projection"
        )
        self._global_projection = keras.layers.Dense(
            units,
            activation="relu",
            dtype=policy,
            name="global_image_projection",
        )
        self._sentinel_gate = keras.layers.Dense(
            units, activation="sigmoid", dtype=policy, name="sentinel_gate"
        )
        hidden = self.attention_units or units
        self._scorer = AttentionScorer(hidden, dtype=policy, name="attention")
        self._sentinel_key_projection = keras.layers.Dense(
            hidden, use_bias=False, dtype=policy, name="sentinel_keys"
        )

    # The outputs are `c_hat + h`, of size `units`.
    context_in_output = False

    def build(self, embeddings_shape, image_features_shape):
        super().build(embeddings_shape, image_features_shape)
        feature_dim = self._feature_dim
        input_dim = self.embedding_dim + self.units
        self._stack.build(input_dim, feature_dim)
        self._image_projection.build((None, None, feature_dim))
        self._global_projection.build((None, feature_dim))
        self._sentinel_gate.build((None, input_dim + self.units))
        self._scorer.build(self.units, self.units)
        self._sentinel_key_projection.build((None, None, self.units))

    def call(self, embeddings, image_features, mask=None, training=None):
        state = self.get_initial_state(image_features)
        batch_size = ops.shape(embeddings)[0]
        dropout_masks = self._stack.dropout_masks(batch_size, training)

        def step(embedding, layers):
            hidden, sentinel, new_layers = self._recur(
                embedding, layers, state["image"]["mean"], dropout_masks
            )
            return new_layers, (hidden, sentinel)

        zeros = ops.zeros((batch_size, self.units), self.compute_dtype)
        hidden, sentinel = scan_steps(
            step, state["layers"], (zeros, zeros), embeddings, mask
        )
        return self._attend(hidden, sentinel, state["image"])

    def get_initial_state(self, image_features):
        features = self._image_projection(image_features)
        return {
            "layers": self._stack.initial_state(image_features),
            "image": self.image_state(
                features,
                mean=self._global_projection(ops.mean(image_features, axis=1)),
            ),
        }

    def call_with_cache(self, embeddings, state):
        image = state["image"]
        hidden, sentinel, layers = self._recur(
            embeddings, state["layers"], image["mean"]
        )
        outputs, scores = self._attend(
            ops.expand_dims(hidden, axis=1),
            ops.expand_dims(sentinel, axis=1),
            image,
        )
        new_state = {"layers": layers, "image": image}
        return outputs[:, 0], new_state, scores[:, 0]

    def _recur(self, embeddings, layers, image_mean, dropout_masks=()):
        """One recurrent step; returns `(h[t], s[t], new_layers)`."""
        inputs = ops.concatenate([embeddings, image_mean], axis=-1)
        gate = self._sentinel_gate(
            ops.concatenate([inputs, layers[-1][0]], axis=-1)
        )
        hidden, new_layers = self._stack.step(inputs, layers, dropout_masks)
        # The LSTM's memory cell; a GRU's state is its only memory.
        memory = new_layers[-1][-1]
        return hidden, gate * ops.tanh(memory), new_layers

    def _attend(self, hidden, sentinel, image):
        """Attention of `h[t]` over the image steps and `s[t]`, every step.

        `hidden` and `sentinel` are `(batch, steps, units)`; returns the
        outputs `c_hat + h` and the weights `(batch, steps, image_steps +
        1)`, in float32.
        """
        image_scores = self._scorer.scores(
            ops.expand_dims(image["keys"], axis=1), hidden
        )
        sentinel_keys = self._sentinel_key_projection(sentinel)
        sentinel_scores = self._scorer.scores(
            ops.expand_dims(sentinel_keys, axis=2), hidden
        )
        weights = ops.softmax(
            ops.cast(
                ops.concatenate([image_scores, sentinel_scores], axis=-1),
                "float32",
            ),
            axis=-1,
        )
        mix = ops.cast(weights, self.compute_dtype)
        context = (
            ops.einsum("bts,bsd->btd", mix[..., :-1], image["features"])
            + mix[..., -1:] * sentinel
        )
        return context + hidden, weights

    def compute_output_shape(self, embeddings_shape, image_features_shape):
        batch, steps = tuple(embeddings_shape)[:2]
        image_steps = tuple(image_features_shape)[1]
        scores_shape = (
            batch,
            steps,
            None if image_steps is None else image_steps + 1,
        )
        return (batch, steps, self.output_dim), scores_shape
