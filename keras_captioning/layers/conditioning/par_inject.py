import keras
from keras import ops

from keras_captioning.layers.conditioning._recurrent_stack import RecurrentStack
from keras_captioning.layers.conditioning._recurrent_stack import (
    repeat_over_time,
)
from keras_captioning.layers.conditioning._registry import register
from keras_captioning.layers.conditioning.conditioning import Conditioning


@register("par_inject")
@keras.saving.register_keras_serializable(package="keras_captioning")
class ParInject(Conditioning):
    """The projected image is concatenated to every word embedding.

    The mean image feature, projected to `embedding_dim`, joins the word
    embedding at every step, so the first recurrent layer reads
    `2 * embedding_dim` values per step. Chosen with
    `CaptionDecoder(conditioning="par_inject")`.

    State: `{"layers": [[h, c], ...], "image": {"embedding": e}}`.

    Args:
        **kwargs: keyword arguments of `keras.layers.Layer`.

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> decoder = keras_captioning.layers.CaptionDecoder(
    ...     vocabulary_size=20, embedding_dim=4, units=6,
    ...     conditioning="par_inject")
    >>> tuple(decoder(np.array([[1, 5, 2]]), np.zeros((1, 3, 8))).shape)
    (1, 3, 20)

    Reference:
        - Tanti, Gatt and Camilleri, 2018. Where to put the image in an
          image caption generator.
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
        self._stack.build(2 * self.embedding_dim, image_features_shape[-1])
        self._image_embedding.build((None, image_features_shape[-1]))

    def call(self, embeddings, image_features, mask=None, training=None):
        image = self._image_embedding(ops.mean(image_features, axis=1))
        inputs = ops.concatenate(
            [embeddings, repeat_over_time(image, embeddings)], axis=-1
        )
        return self._stack.run(inputs, mask=mask, training=training), None

    def get_initial_state(self, image_features):
        image = self._image_embedding(ops.mean(image_features, axis=1))
        return {
            "layers": self._stack.initial_state(image_features),
            "image": {"embedding": image},
        }

    def call_with_cache(self, embeddings, state):
        inputs = ops.concatenate(
            [embeddings, state["image"]["embedding"]], axis=-1
        )
        outputs, layer_states = self._stack.step(inputs, state["layers"])
        return outputs, {"layers": layer_states, "image": state["image"]}, None

    def saved_weight_aliases(self):
        aliases = self._stack.saved_weight_aliases()
        aliases["_image_embedding"] = self._image_embedding
        return aliases
