import keras
from keras import ops

from keras_captioning import _validation
from keras_captioning.layers.conditioning._attention_loop import (
    AttendingConditioning,
)
from keras_captioning.layers.conditioning._attention_loop import AttentionScorer
from keras_captioning.layers.conditioning.registry import register


@register("attention")
@keras.saving.register_keras_serializable(package="keras_captioning")
class Attention(AttendingConditioning):
    """Soft additive attention over the image at every step.

    As in Show, Attend and Tell: at each step the previous state of the last
    recurrent layer scores every image step, the softmax of the scores
    weighs the image features into a context vector, optionally scaled by a
    learned sigmoid gate, and the context joins the word input. The initial
    state is a `tanh` projection of the mean image feature, as in
    `"init_inject"`, and the vocabulary projection reads the recurrent output
    and the context (`output_dim` is `units + feature_dim`).

    The cells run in the scan and the scores come from the additive
    scorer that `"top_down"` and `"adaptive_attention"` share, since each
    step's input depends on the previous state; padded steps leave the
    state unchanged.
    The dropout mask between recurrent layers is drawn once per sequence.
    The softmax runs in float32. Chosen with
    `CaptionDecoder(conditioning="attention")`.

    State: `{"layers": [[h, c], ...], "image": {"features": f, "keys": k}}`.

    Args:
        attention_units: int or `None`. Size of the additive attention's
            hidden layer; `None` uses `units`. Defaults to `None`.
        attention_gate: bool. Whether a learned sigmoid gate computed from
            the previous state scales the context (Xu et al.'s beta).
            Defaults to `True`.
        attention_regularization: float >= 0. Weight of the doubly
            stochastic attention regulariser of Xu et al.,
            `sum_i (1 - sum_t a_ti)^2` over image positions `i` and real
            steps `t`, averaged over the batch and added with `add_loss`. The
            sum grows with the feature map: weights around `1 / image_steps`
            (0.02 for a 7x7 map) balance it with the cross-entropy. Defaults
            to `0.0`.
        **kwargs: keyword arguments of `keras.layers.Layer`.

    Example:

    >>> decoder = keras_captioning.layers.CaptionDecoder(20,
    ...     embedding_dim=4, units=6, conditioning="attention",
    ...     attention_units=5, attention_regularization=0.02)
    >>> logits, scores = decoder(np.array([[1, 5, 2]]), np.zeros((1, 3, 8)),
    ...     return_attention_scores=True)
    >>> tuple(logits.shape), tuple(scores.shape), len(decoder.losses)
    ((1, 3, 20), (1, 3, 3), 1)

    Reference:
        - Xu et al., 2015. Show, Attend and Tell: Neural Image Caption
          Generation with Visual Attention.
    """

    def __init__(
        self,
        attention_units=None,
        attention_gate=True,
        attention_regularization=0.0,
        **kwargs,
    ):
        super().__init__(attention_units, **kwargs)
        self.attention_gate = _validation.check_bool(
            "attention_gate", attention_gate
        )
        self.attention_regularization = _validation.check_float(
            "attention_regularization", attention_regularization, minimum=0.0
        )

    def configure(self, embedding_dim, units, num_layers, cell, dropout):
        super().configure(embedding_dim, units, num_layers, cell, dropout)
        policy = self.dtype_policy
        self._stack = self.recurrent_stack(
            num_layers, dropout, "recurrent_stack", state_from_image=True
        )
        self._scorer = AttentionScorer(
            self.attention_units or units,
            score_bias=True,
            dtype=policy,
            name="attention",
        )
        self._gate = None
        if self.attention_gate:
            self._gate = keras.layers.Dense(
                1, activation="sigmoid", dtype=policy, name="attention_gate"
            )
        # Files of this mode hold the scorer's weights under these names;
        # untracked, they are found before `_scorer` (Keras walks private
        # attributes in name order) and new files keep the same layout.
        for path, layer in self._file_paths().items():
            object.__setattr__(self, path, layer)

    def _file_paths(self):
        return {
            "_key_projection": self._scorer.key_projection,
            "_query_projection": self._scorer.query_projection,
            "_score": self._scorer.score,
        }

    def build(self, embeddings_shape, image_features_shape):
        super().build(embeddings_shape, image_features_shape)
        feature_dim = self._feature_dim
        self._stack.build(self.embedding_dim + feature_dim, feature_dim)
        self._scorer.build(feature_dim, self.units)
        if self._gate is not None:
            self._gate.build((None, self.units))

    def call(self, embeddings, image_features, mask=None, training=None):
        outputs, scores = self.scan_attention(
            self._attend_and_step,
            embeddings,
            self.get_initial_state(image_features),
            self._stack,
            mask,
            training,
        )
        if self.attention_regularization > 0:
            if mask is None:
                mask = ops.ones(ops.shape(embeddings)[:2], "bool")
            self.add_loss(self._coverage_penalty(scores, mask))
        return outputs, scores

    def get_initial_state(self, image_features):
        return {
            "layers": self._stack.initial_state(image_features),
            "image": self.image_state(image_features),
        }

    def call_with_cache(self, embeddings, state):
        return self._attend_and_step(embeddings, state)

    def _attend_and_step(self, embeddings, state, dropout_masks=()):
        """Attention from the previous state, then one step of the cells."""
        image = state["image"]
        query = state["layers"][-1][0]
        weights, context = self._scorer.attend(
            image["keys"], image["features"], query
        )
        if self._gate is not None:
            context = context * self._gate(query)
        outputs, layer_states = self._stack.step(
            ops.concatenate([embeddings, context], axis=-1),
            state["layers"],
            dropout_masks,
        )
        outputs = ops.concatenate([outputs, context], axis=-1)
        return outputs, {"layers": layer_states, "image": image}, weights

    def _coverage_penalty(self, scores, mask):
        step_mask = ops.expand_dims(ops.cast(mask, "float32"), axis=-1)
        coverage = ops.sum(ops.cast(scores, "float32") * step_mask, axis=1)
        penalty = ops.mean(ops.sum(ops.square(1.0 - coverage), axis=-1))
        return self.attention_regularization * penalty

    def saved_weight_aliases(self):
        aliases = self._stack.saved_weight_aliases()
        aliases.update(
            {
                "_attention_key_projection": self._scorer.key_projection,
                "_attention_query_projection": self._scorer.query_projection,
                "_attention_score": self._scorer.score,
            }
        )
        if self._gate is not None:
            aliases["_attention_gate_projection"] = self._gate
        return aliases

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "attention_gate": self.attention_gate,
                "attention_regularization": self.attention_regularization,
            }
        )
        return config
