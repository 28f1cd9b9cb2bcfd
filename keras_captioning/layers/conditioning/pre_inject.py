import keras
from keras import ops

from keras_captioning.layers.conditioning._recurrent_stack import RecurrentStack
from keras_captioning.layers.conditioning._registry import register
from keras_captioning.layers.conditioning.conditioning import Conditioning


@register("pre_inject")
@keras.saving.register_keras_serializable(package="keras_captioning")
class PreInject(Conditioning):
    """The image, projected to `embedding_dim`, is the first input step.

    As in Show and Tell: the recurrent layers read the projected mean image
    feature before the first word. Its output step is dropped, so the outputs
    stay aligned with the tokens. For generation the image step is run once
    in `get_initial_state`. Chosen with
    `CaptionDecoder(conditioning="pre_inject")`.

    State: `{"layers": [[h, c], ...]}`, after the image step.

    Args:
        **kwargs: keyword arguments of `keras.layers.Layer`.

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> decoder = keras_captioning.layers.CaptionDecoder(
    ...     vocabulary_size=20, embedding_dim=4, units=6,
    ...     conditioning="pre_inject")
    >>> tuple(decoder(np.array([[1, 5, 2]]), np.zeros((1, 3, 8))).shape)
    (1, 3, 20)

    Reference:
        - Vinyals et al., 2015. Show and Tell: A Neural Image Caption
          Generator.
    """

    def configure(self, embedding_dim, units, num_layers, cell, dropout):
        super().configure(embedding_dim, units, num_layers, cell, dropout)
        self._stack = RecurrentStack(
            units,
            num_layers,
            cell,
            dropout,
            dtype=self.dtype_policy,
            name="recurrent_stack",
        )
        self._image_embedding = keras.layers.Dense(
            embedding_dim, dtype=self.dtype_policy, name="image_embedding"
        )

    @property
    def output_dim(self):
        return self.units

    def build(self, embeddings_shape, image_features_shape):
        self._require_configured()
        self._stack.build(self.embedding_dim, image_features_shape[-1])
        self._image_embedding.build((None, image_features_shape[-1]))

    def _image_step(self, image_features):
        return self._image_embedding(ops.mean(image_features, axis=1))

    def call(self, embeddings, image_features, mask=None, training=None):
        image_step = ops.expand_dims(self._image_step(image_features), 1)
        inputs = ops.concatenate([image_step, embeddings], axis=1)
        if mask is not None:
            mask = ops.concatenate([ops.ones_like(mask[:, :1]), mask], axis=1)
        outputs = self._stack.run(inputs, mask=mask, training=training)
        return outputs[:, 1:], None

    def get_initial_state(self, image_features):
        _, layer_states = self._stack.step(
            self._image_step(image_features),
            self._stack.initial_state(image_features),
        )
        return {"layers": layer_states}

    def call_with_cache(self, embeddings, state):
        outputs, layer_states = self._stack.step(embeddings, state["layers"])
        return outputs, {"layers": layer_states}, None

    def saved_weight_aliases(self):
        aliases = self._stack.saved_weight_aliases()
        aliases["_image_embedding"] = self._image_embedding
        return aliases
