import keras
from keras import ops

from keras_captioning import _validation
from keras_captioning.layers import _caption_decoder_checks as _checks
from keras_captioning.layers import conditioning as conditioning_modes

# The built-in modes; `conditioning_modes.names()` also lists registered ones.
CONDITIONING_MODES = conditioning_modes.names()
CELL_TYPES = ("lstm", "gru")
# Decoder arguments of configs saved before the modes were layers: handed to
# the mode, which must take them when they are not the default.
_MODE_OPTIONS = {
    "attention_units": None,
    "attention_gate": True,
    "attention_regularization": 0.0,
}


@keras.saving.register_keras_serializable(package="keras_captioning")
class CaptionDecoder(keras.layers.Layer):
    """Embedding and stacked LSTM/GRU that turn image features into words.

    The decoder reads a caption's token ids and the image features from
    `keras_captioning.layers.FeatureToSequence`, and returns one row of
    vocabulary logits per input token: the row at position `t` predicts token
    `t + 1`. Training uses teacher forcing: feed `ids[:, :-1]` and use
    `ids[:, 1:]` as the target.

    `conditioning` chooses where the image enters the language model: a
    mode registered in `keras_captioning.layers.conditioning` (see
    `conditioning.names()` and each mode's docstring; `conditioning.register`
    adds your own). The mode owns the recurrent layers and what it does with
    the image; the decoder owns the embedding, the dropout on embeddings and
    outputs, and the vocabulary projection.

    Masking: id `0` is padding; the recurrence skips it, so padding never
    changes the outputs at real positions. The logits carry the mask
    `(token_ids != 0) & (token_ids != end_token_id)`, which Keras losses and
    metrics honour: with `ids[:, :-1]` in and `ids[:, 1:]` as targets, the
    step that reads the end token (its target is padding) does not count,
    the step that predicts it does.

    Generation: `get_initial_state(image_features)` gives the state (a nested
    structure, see there) and `step(token_ids, state)` costs one cell update
    per layer; fed a caption token by token, it gives the teacher-forced
    logits. Sub-layers follow the layer's `dtype_policy` (mixed precision).

    Args:
        vocabulary_size: int. Number of tokens, padding (id 0) included.
        embedding_dim: int. Size of the word embeddings. Defaults to `256`.
        units: int. Size of each recurrent layer's state. Defaults to `512`.
        num_layers: int. Number of stacked recurrent layers. Defaults to `1`.
        cell: `"lstm"` or `"gru"`. Defaults to `"lstm"`.
        conditioning: a registered mode name (`conditioning.names()`), a
            `keras_captioning.layers.conditioning.Conditioning` instance or
            its serialized dict. Defaults to `conditioning.DEFAULT`.
        dropout: float in `[0, 1)`. Dropout on word embeddings, between
            recurrent layers and before the vocabulary projection.
            Defaults to `0.0`.
        attention_units, attention_gate, attention_regularization: options
            of the attention mode, passed to it (kept for saved configs);
            other modes reject values other than the defaults `None`,
            `True`, `0.0`.
        end_token_id: int or `None`. Id whose input step is left out of the
            output mask; `None` masks only padding. Defaults to `2`, the end
            token of `keras_captioning.text.CaptionTokenizer`.
        **kwargs: other keyword arguments passed to `keras.layers.Layer`,
            including `name`, `trainable` and `dtype`.

    Call arguments:
        token_ids: int tensor `(batch, steps)`, `0` for padding.
        image_features: float tensor `(batch, image_steps, feature_dim)`.
        training: Python bool, whether dropout is active.
        return_attention_scores: bool. Also return the attention scores
            `(batch, steps, image_steps)` (modes with
            `returns_attention_scores` only). Defaults to `False`.

    Returns:
        Logits `(batch, steps, vocabulary_size)` carrying the mask; with
        `return_attention_scores=True`, a tuple `(logits, scores)`.

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> decoder = keras_captioning.layers.CaptionDecoder(
    ...     vocabulary_size=100, embedding_dim=16, units=32,
    ...     conditioning="attention")
    >>> token_ids = np.array([[1, 5, 9, 2, 0]])
    >>> image_features = np.zeros((1, 49, 64), "float32")
    >>> logits, scores = decoder(
    ...     token_ids, image_features, return_attention_scores=True)
    >>> tuple(logits.shape), tuple(scores.shape)
    ((1, 5, 100), (1, 5, 49))
    >>> state = decoder.get_initial_state(image_features)
    >>> next_logits, state = decoder.step(np.array([1]), state)
    >>> tuple(next_logits.shape)
    (1, 100)
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim=256,
        units=512,
        num_layers=1,
        cell="lstm",
        conditioning=conditioning_modes.DEFAULT,
        dropout=0.0,
        attention_units=None,
        attention_gate=True,
        attention_regularization=0.0,
        end_token_id=2,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check = _validation
        self.vocabulary_size = check.check_int(
            "vocabulary_size", vocabulary_size, minimum=2
        )
        self.embedding_dim = check.check_int("embedding_dim", embedding_dim)
        self.units = check.check_int("units", units)
        self.num_layers = check.check_int("num_layers", num_layers)
        self.cell = check.check_choice("cell", cell, CELL_TYPES)
        self.dropout = check.check_fraction("dropout", dropout)
        # Checked by the mode that takes them.
        self.attention_units = attention_units
        self.attention_gate = attention_gate
        self.attention_regularization = attention_regularization
        self.end_token_id = check.check_int(
            "end_token_id",
            end_token_id,
            minimum=1,
            maximum=self.vocabulary_size - 1,
            allow_none=True,
        )
        options = {
            key: getattr(self, key)
            for key, default in _MODE_OPTIONS.items()
            if _differs(getattr(self, key), default)
        }
        if isinstance(conditioning, str):
            options.update(dtype=self.dtype_policy, name="conditioning")
        self.conditioning_layer = conditioning_modes.get(
            conditioning, **options
        )
        self.conditioning = (
            conditioning
            if isinstance(conditioning, str)
            else self.conditioning_layer
        )
        self.conditioning_layer.configure(
            embedding_dim, units, num_layers, cell, self.dropout
        )
        # Files saved before the modes were layers hold their weights under
        # the decoder's own attribute paths; expose the layers there too,
        # untracked, so Keras finds them (see `saved_weight_aliases`).
        aliases = self.conditioning_layer.saved_weight_aliases()
        for path, layers in aliases.items():
            object.__setattr__(self, path, layers)
        self._feature_dim = None

        policy = self.dtype_policy
        self._token_embedding = keras.layers.Embedding(
            vocabulary_size, embedding_dim, dtype=policy, name="token_embedding"
        )
        self._embedding_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="embedding_dropout"
        )
        self._output_dropout = keras.layers.Dropout(
            self.dropout, dtype=policy, name="output_dropout"
        )
        self._logits_projection = keras.layers.Dense(
            vocabulary_size, dtype=policy, name="logits"
        )

    def build(self, token_ids_shape, image_features_shape):
        image_features_shape = _checks.check_image_features_rank(
            image_features_shape
        )
        feature_dim = image_features_shape[-1]
        if feature_dim is None:
            raise ValueError(
                "The last dimension of `image_features` must be known when "
                f"the layer is built. Received shape: {image_features_shape}"
            )
        self._feature_dim = feature_dim
        self._token_embedding.build(token_ids_shape)
        embeddings_shape = (*tuple(token_ids_shape)[:2], self.embedding_dim)
        self.conditioning_layer.build(embeddings_shape, image_features_shape)
        self._embedding_dropout.build(None)
        self._output_dropout.build(None)
        output_dim = self.conditioning_layer.output_dim
        self._logits_projection.build((None, None, output_dim))

    def call(
        self,
        token_ids,
        image_features,
        training=None,
        return_attention_scores=False,
    ):
        self._check_inputs(token_ids, image_features, return_attention_scores)
        image_features = ops.cast(image_features, self.compute_dtype)
        embeddings = self._embedding_dropout(
            self._token_embedding(token_ids), training=training
        )
        outputs, scores = self.conditioning_layer(
            embeddings,
            image_features,
            mask=ops.not_equal(token_ids, 0),
            training=training,
        )
        # A new tensor: a mask that an inner LSTM attached to its outputs
        # (padding only) must not reach the logits, which carry the mask of
        # `compute_mask`.
        outputs = ops.copy(outputs)
        logits = self._logits_projection(
            self._output_dropout(outputs, training=training)
        )
        if return_attention_scores:
            return logits, scores
        return logits

    def get_initial_state(self, image_features):
        """The decoder state before the first token, computed from the image.

        Args:
            image_features: float tensor `(batch, image_steps, feature_dim)`.

        Returns:
            A nested structure `{"layers": [[h, c], ...], ...}` (`[[h], ...]`
            for GRU, plus what the mode keeps of the image), every leaf with
            the batch first. Pass it to `step` or `call_with_cache`.
        """
        if not self.built:
            raise ValueError(
                "The decoder must be built before `get_initial_state`: call "
                "it once on a batch, or call `build`."
            )
        image_features = ops.convert_to_tensor(image_features)
        _checks.check_image_features(image_features, self._feature_dim)
        image_features = ops.cast(image_features, self.compute_dtype)
        return self.conditioning_layer.get_initial_state(image_features)

    def step(self, token_ids, state, return_attention_scores=False):
        """Advances the decoder by one token: one cell update per layer.

        Args:
            token_ids: int tensor `(batch,)`, the previous token of each row.
            state: the structure from `get_initial_state` or a previous step.
            return_attention_scores: bool. Also return this step's attention
                scores `(batch, image_steps)`.

        Returns:
            `(logits, new_state)`, logits of shape `(batch, vocabulary_size)`;
            with `return_attention_scores=True`, `(logits, new_state,
            scores)`.
        """
        _checks.check_scores_request(self, return_attention_scores)
        token_ids = ops.convert_to_tensor(token_ids)
        _checks.check_token_ids(token_ids, self.vocabulary_size, rank=1)
        _checks.check_state(state, self.num_layers, self.cell, token_ids.shape)
        logits, state, scores = self.call_with_cache(token_ids, state)
        if return_attention_scores:
            return logits, state, scores
        return logits, state

    def call_with_cache(self, token_ids, state):
        """`step` without input checks: the hook compiled generation calls.

        Args:
            token_ids: int tensor `(batch,)`.
            state: the structure from `get_initial_state` or a previous call.

        Returns:
            `(logits, new_state, attention_scores)`; the scores are `None`
            for modes without attention.
        """
        outputs, state, scores = self.conditioning_layer.call_with_cache(
            self._token_embedding(token_ids), state
        )
        return self._logits_projection(outputs), state, scores

    def _step(self, token_ids, state, return_attention_scores=False):
        # Kept until `ImageCaptioner` calls `call_with_cache`; remove then.
        logits, state, scores = self.call_with_cache(token_ids, state)
        if return_attention_scores:
            return logits, state, scores
        return logits, state

    def _check_inputs(self, token_ids, image_features, return_scores):
        _checks.check_scores_request(self, return_scores)
        _checks.check_token_ids(token_ids, self.vocabulary_size, rank=2)
        _checks.check_image_features(image_features, self._feature_dim)
        _validation.check_same_batch(
            token_ids=token_ids.shape, image_features=image_features.shape
        )

    def compute_mask(self, token_ids, previous_mask=None):
        mask = ops.not_equal(token_ids, 0)
        if self.end_token_id is None:
            return mask
        return ops.logical_and(
            mask, ops.not_equal(token_ids, self.end_token_id)
        )

    def compute_output_shape(
        self, token_ids_shape, image_features_shape, **kwargs
    ):
        logits_shape = (*tuple(token_ids_shape)[:2], self.vocabulary_size)
        if not kwargs.get("return_attention_scores"):
            return logits_shape
        embeddings_shape = (*tuple(token_ids_shape)[:2], self.embedding_dim)
        _, scores_shape = self.conditioning_layer.compute_output_shape(
            embeddings_shape, tuple(image_features_shape)
        )
        return logits_shape, scores_shape

    def compute_output_spec(self, token_ids, image_features, **kwargs):
        shapes = self.compute_output_shape(
            token_ids.shape, image_features.shape, **kwargs
        )
        if not kwargs.get("return_attention_scores"):
            return keras.KerasTensor(shapes, self.compute_dtype)
        logits_shape, scores_shape = shapes
        return (
            keras.KerasTensor(logits_shape, self.compute_dtype),
            keras.KerasTensor(scores_shape, "float32"),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "units": self.units,
                "num_layers": self.num_layers,
                "cell": self.cell,
                "conditioning": (
                    self.conditioning
                    if isinstance(self.conditioning, str)
                    else keras.saving.serialize_keras_object(self.conditioning)
                ),
                "dropout": self.dropout,
                "attention_units": self.attention_units,
                "attention_gate": self.attention_gate,
                "attention_regularization": self.attention_regularization,
                "end_token_id": self.end_token_id,
            }
        )
        return config


def _differs(value, default):
    """`True` also for `1` against the default `True`: not the same option."""
    return value != default or isinstance(value, bool) != isinstance(
        default, bool
    )
