import keras

from keras_captioning.layers.conditioning._recurrent_stack import (
    StackedConditioning,
)
from keras_captioning.layers.conditioning.registry import register


@register("init_inject")
@keras.saving.register_keras_serializable(package="keras_captioning")
class InitInject(StackedConditioning):
    """The image sets the initial state of every recurrent layer.

    Separate learned `tanh` projections of the mean image feature give `h`
    (and `c` for LSTM) of each layer; the layers then read only words.
    Chosen with `CaptionDecoder(conditioning="init_inject")`.

    State: `{"layers": [[h, c], ...]}`.

    Args:
        **kwargs: keyword arguments of `keras.layers.Layer`.

    Example:

    >>> decoder = keras_captioning.layers.CaptionDecoder(
    ...     20, embedding_dim=4, units=6, conditioning="init_inject")
    >>> features = np.zeros((2, 3, 8))
    >>> _ = decoder(np.array([[1, 5, 2], [1, 6, 2]]), features)
    >>> h, c = decoder.conditioning_layer.get_initial_state(features)[
    ...     "layers"][0]
    >>> tuple(h.shape), tuple(c.shape)
    ((2, 6), (2, 6))

    Reference:
        - Tanti, Gatt and Camilleri, 2018. Where to put the image in an
          image caption generator.
    """

    state_from_image = True

    def call(self, embeddings, image_features, mask=None, training=None):
        outputs = self._stack.run(
            embeddings,
            initial_state=self._stack.initial_state(image_features),
            mask=mask,
            training=training,
        )
        return outputs, None

    def get_initial_state(self, image_features):
        return {"layers": self._stack.initial_state(image_features)}

    def call_with_cache(self, embeddings, state):
        outputs, layer_states = self._stack.step(embeddings, state["layers"])
        return outputs, {"layers": layer_states}, None
