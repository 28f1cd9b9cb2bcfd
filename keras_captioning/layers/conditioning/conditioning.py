import keras

from keras_captioning import _validation


@keras.saving.register_keras_serializable(package="keras_captioning")
class Conditioning(keras.layers.Layer):
    """Base class of the ways the image enters `CaptionDecoder`.

    A conditioning mode owns everything between the word embeddings and the
    vocabulary projection: the recurrent layers, the layers that read the
    image, the decoder state and the computation for a whole caption
    (teacher forcing) and for one token (generation), side by side.
    `CaptionDecoder` keeps the embedding, the dropout on embeddings and
    outputs, and the logits projection.

    To add a mode, subclass this class, implement the hooks below and
    decorate the class with
    `keras_captioning.layers.conditioning.register("name")`; then
    `CaptionDecoder(conditioning="name")` uses it, and every test of the
    package that iterates `conditioning.names()` covers it.

    Hooks, in the order the decoder calls them:

    - `configure(embedding_dim, units, num_layers, cell, dropout)`: called
      once by the decoder's `__init__`; creates the sub-layers (with
      `dtype=self.dtype_policy` and a stable `name`). The base version stores
      the arguments as attributes of the same names.
    - `build(embeddings_shape, image_features_shape)`: builds every
      sub-layer, so weights exist before the first call.
    - `output_dim` (property): size of the vector handed to the vocabulary
      projection; may need `build` first.
    - `call(embeddings, image_features, mask=None, training=None)`: a whole
      caption. Returns `(outputs, attention_scores)`, outputs of shape
      `(batch, steps, output_dim)`, scores `(batch, steps, image_steps)` or
      `None`. A mode with a visual sentinel returns `image_steps + 1`
      columns, the last one the sentinel's weight.
    - `get_initial_state(image_features)`: the state before the first token,
      a nested structure `{"layers": [[h, c], ...], ...}` (`[[h], ...]` for
      GRU) plus the mode's own entries (for example `"image": {...}`).
      `keras.tree` maps over it and every leaf has the batch first, so
      generation loops may reorder, tile or mask it.
    - `call_with_cache(embeddings, state)`: one token, embeddings
      `(batch, embedding_dim)`. Returns `(outputs, new_state,
      attention_scores)`: outputs `(batch, output_dim)`, scores
      `(batch, image_steps)` or `None`. Fed a caption token by token it
      must give the outputs of `call` (the property test of the package
      checks this for every registered mode).
    - `returns_attention_scores` (class attribute): whether `call` and
      `call_with_cache` return attention scores.
    - `saved_weight_aliases()`: optional; extra attribute paths under which
      files saved by earlier versions hold the sub-layers' weights.

    Mode options (arguments of the subclass's `__init__`) belong in
    `get_config`. Masking: `mask` is `(batch, steps)`, `True` for tokens;
    padding comes after the words and must not change the outputs at real
    positions.

    Args:
        **kwargs: keyword arguments of `keras.layers.Layer` (`name`,
            `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> from keras_captioning.layers import conditioning
    >>> mode = conditioning.get("merge")
    >>> mode.configure(
    ...     embedding_dim=4, units=6, num_layers=1, cell="gru", dropout=0.0)
    >>> mode.build((2, 3, 4), (2, 5, 8))
    >>> outputs, scores = mode(np.zeros((2, 3, 4)), np.zeros((2, 5, 8)))
    >>> tuple(outputs.shape), mode.output_dim, scores is None
    ((2, 3, 12), 12, True)
    """

    returns_attention_scores = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # `mask` is a call argument; the outputs carry no mask of their own
        # (the decoder computes the one its logits carry).
        self.supports_masking = True
        self.embedding_dim = None
        self.units = None
        self.num_layers = None
        self.cell = None
        self.dropout = None

    def configure(self, embedding_dim, units, num_layers, cell, dropout):
        """Receives the decoder's sizes; subclasses create sub-layers here.

        Args:
            embedding_dim: int, size of the word embeddings.
            units: int, size of each recurrent layer's state.
            num_layers: int, number of stacked recurrent layers.
            cell: `"lstm"` or `"gru"`.
            dropout: float in `[0, 1)`, dropout between recurrent layers.
        """
        if self.units is not None:
            raise ValueError(
                f"The conditioning layer {self.name!r} is already configured "
                "for a decoder; create a new instance for each decoder."
            )
        self.embedding_dim = _validation.check_int(
            "embedding_dim", embedding_dim
        )
        self.units = _validation.check_int("units", units)
        self.num_layers = _validation.check_int("num_layers", num_layers)
        self.cell = _validation.check_choice("cell", cell, ("lstm", "gru"))
        self.dropout = _validation.check_fraction("dropout", dropout)

    @property
    def output_dim(self):
        """Size of the vector handed to the decoder's vocabulary projection."""
        raise NotImplementedError(
            f"{type(self).__name__} must define the `output_dim` property."
        )

    def build(self, embeddings_shape, image_features_shape):
        self._require_configured()

    def call(self, embeddings, image_features, mask=None, training=None):
        raise NotImplementedError(
            f"{type(self).__name__} must implement `call`."
        )

    def get_initial_state(self, image_features):
        """The state before the first token (see the class docstring)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `get_initial_state`."
        )

    def call_with_cache(self, embeddings, state):
        """One token: `(outputs, new_state, attention_scores or None)`."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `call_with_cache`."
        )

    def saved_weight_aliases(self):
        """Attribute paths of older saved files: `{name: layer(s)}`.

        Before the modes were layers of their own, the decoder held their
        sub-layers directly, as `decoder._image_embedding`,
        `decoder._recurrent_cells` and so on, and `.keras` files store
        weights under those attribute paths. The decoder exposes the layers
        returned here under these names too (without tracking them twice),
        so Keras finds the weights of such files. Files written today store
        them under `conditioning_layer/`. New modes return `{}`.
        """
        return {}

    def get_build_config(self):
        # The decoder configures, then builds its mode; a saved mode is
        # rebuilt by its decoder, never on its own.
        return None

    def compute_mask(self, embeddings, image_features=None, mask=None):
        return None

    def compute_output_shape(self, embeddings_shape, image_features_shape):
        batch, steps = tuple(embeddings_shape)[:2]
        scores_shape = None
        if self.returns_attention_scores:
            scores_shape = (batch, steps, tuple(image_features_shape)[1])
        return (batch, steps, self.output_dim), scores_shape

    def _require_configured(self):
        if self.units is None:
            raise ValueError(
                f"{type(self).__name__} must be configured before it is "
                "built: pass it to `CaptionDecoder(conditioning=...)`, or "
                "call `configure(embedding_dim, units, num_layers, cell, "
                "dropout)`."
            )
