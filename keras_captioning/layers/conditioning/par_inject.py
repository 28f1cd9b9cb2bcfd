import keras
from keras import ops

from keras_captioning.layers.conditioning._recurrent_stack import (
    StackedConditioning,
)
from keras_captioning.layers.conditioning._recurrent_stack import (
    repeat_over_time,
)
from keras_captioning.layers.conditioning.registry import register


@register("par_inject")
@keras.saving.register_keras_serializable(package="keras_captioning")
class ParInject(StackedConditioning):
    """The projected image is concatenated to every word embedding.

    The mean image feature, projected to `embedding_dim`, joins the word
    embedding at every step, so the first recurrent layer reads
    `2 * embedding_dim` values per step. Chosen with
    `CaptionDecoder(conditioning="par_inject")`.

    State: `{"layers": [[h, c], ...], "image": {"embedding": e}}`.

    Args:
        **kwargs: keyword arguments of `keras.layers.Layer`.

    Example:

    >>> mode = keras_captioning.layers.conditioning.get("par_inject")
    >>> mode.configure(
    ...     embedding_dim=4, units=6, num_layers=1, cell="gru", dropout=0.0)
    >>> mode.input_dim  # each word's 4 and the image's 4
    8

    Reference:
        - Tanti, Gatt and Camilleri, 2018. Where to put the image in an
          image caption generator (the par-inject architecture).
    """

    image_embedding_dim = "embedding_dim"

    def call(self, embeddings, image_features, mask=None, training=None):
        image = self.image_vector(image_features)
        inputs = ops.concatenate(
            [embeddings, repeat_over_time(image, embeddings)], axis=-1
        )
        return self._stack.run(inputs, mask=mask, training=training), None

    def get_initial_state(self, image_features):
        return self.state_with_image(image_features)

    def call_with_cache(self, embeddings, state):
        inputs = ops.concatenate(
            [embeddings, state["image"]["embedding"]], axis=-1
        )
        outputs, layer_states = self._stack.step(inputs, state["layers"])
        return outputs, {"layers": layer_states, "image": state["image"]}, None

    @property
    def input_dim(self):
        return 2 * self.embedding_dim
