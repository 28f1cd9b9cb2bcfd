import keras
from keras import ops

from keras_captioning.layers.conditioning._recurrent_stack import (
    StackedConditioning,
)
from keras_captioning.layers.conditioning.registry import register


@register("pre_inject")
@keras.saving.register_keras_serializable(package="keras_captioning")
class PreInject(StackedConditioning):
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

    >>> decoder = keras_captioning.layers.CaptionDecoder(
    ...     vocabulary_size=20, embedding_dim=4, units=6,
    ...     conditioning="pre_inject")
    >>> # The image step's output is dropped: one output per token.
    >>> tuple(decoder(np.array([[1, 5, 2]]), np.zeros((1, 3, 8))).shape)
    (1, 3, 20)

    Reference:
        - Vinyals et al., 2015. Show and Tell: A Neural Image Caption
          Generator.
    """

    image_embedding_dim = "embedding_dim"

    def call(self, embeddings, image_features, mask=None, training=None):
        image_step = ops.expand_dims(self.image_vector(image_features), 1)
        inputs = ops.concatenate([image_step, embeddings], axis=1)
        if mask is not None:
            mask = ops.concatenate([ops.ones_like(mask[:, :1]), mask], axis=1)
        outputs = self._stack.run(inputs, mask=mask, training=training)
        return outputs[:, 1:], None

    def get_initial_state(self, image_features):
        _, layer_states = self._stack.step(
            self.image_vector(image_features),
            self._stack.initial_state(image_features),
        )
        return {"layers": layer_states}

    def call_with_cache(self, embeddings, state):
        outputs, layer_states = self._stack.step(embeddings, state["layers"])
        return outputs, {"layers": layer_states}, None
