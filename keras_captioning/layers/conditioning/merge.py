import keras
from keras import ops

from keras_captioning.layers.conditioning._recurrent_stack import (
    StackedConditioning,
)
from keras_captioning.layers.conditioning._recurrent_stack import (
    repeat_over_time,
)
from keras_captioning.layers.conditioning.registry import register


@register("merge")
@keras.saving.register_keras_serializable(package="keras_captioning")
class Merge(StackedConditioning):
    """The recurrent layers read only words; the image joins their output.

    The mean image feature, projected to `units`, is concatenated to the
    last recurrent layer's output at every step, just before the vocabulary
    projection, so `output_dim` is `2 * units`. Chosen with
    `CaptionDecoder(conditioning="merge")`.

    State: `{"layers": [[h, c], ...], "image": {"embedding": e}}`.

    Args:
        **kwargs: keyword arguments of `keras.layers.Layer`.

    Example:

    >>> decoder = keras_captioning.layers.CaptionDecoder(
    ...     20, embedding_dim=4, units=6, conditioning="merge")
    >>> decoder.conditioning_layer.output_dim  # the words' 6, the image's 6
    12

    Reference:
        - Tanti, Gatt and Camilleri, 2018. Where to put the image in an
          image caption generator (the merge architecture).
    """

    image_embedding_dim = "units"

    @property
    def output_dim(self):
        return 2 * self.units

    def call(self, embeddings, image_features, mask=None, training=None):
        outputs = self._stack.run(embeddings, mask=mask, training=training)
        image = self.image_vector(image_features)
        outputs = ops.concatenate(
            [outputs, repeat_over_time(image, outputs)], axis=-1
        )
        return outputs, None

    def get_initial_state(self, image_features):
        return self.state_with_image(image_features)

    def call_with_cache(self, embeddings, state):
        outputs, layer_states = self._stack.step(embeddings, state["layers"])
        outputs = ops.concatenate(
            [outputs, state["image"]["embedding"]], axis=-1
        )
        return outputs, {"layers": layer_states, "image": state["image"]}, None
