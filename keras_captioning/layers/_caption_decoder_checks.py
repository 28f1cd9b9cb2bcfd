"""Input checks of `CaptionDecoder`'s public entry points.

They run once, at the boundary (`__call__`, `get_initial_state`, `step`),
never inside `call_with_cache`, so compiled generation loops stay free of
them. Generic checks come from `keras_captioning._validation`.
"""

import keras

from keras_captioning import _validation

_TOKEN_SHAPES = {1: "(batch,)", 2: "(batch, steps)"}


def check_token_ids(token_ids, vocabulary_size, rank):
    """Rank, integer dtype and (when known) values of `token_ids`."""
    _validation.check_rank(
        "token_ids", token_ids.shape, rank, _TOKEN_SHAPES[rank]
    )
    _validation.check_token_ids(token_ids, vocabulary_size)


def check_image_features_rank(shape):
    return _validation.check_rank(
        "image_features",
        shape,
        3,
        "(batch, image_steps, feature_dim)",
        hint="Pass CNN outputs through "
        "`keras_captioning.layers.FeatureToSequence` first.",
    )


def check_image_features(image_features, feature_dim):
    """Rank, float dtype and the feature size the decoder was built for."""
    shape = check_image_features_rank(image_features.shape)
    dtype = keras.backend.standardize_dtype(image_features.dtype)
    if "float" not in dtype:
        raise TypeError(
            f"`image_features` must be a float tensor. Received dtype {dtype}."
        )
    if shape[-1] is not None and shape[-1] != feature_dim:
        raise ValueError(
            "`image_features` has a different feature size than the layer "
            f"was built for: expected {feature_dim}, received {shape[-1]} "
            f"(shape {shape})."
        )


def check_state(state, num_layers, cell, token_ids_shape):
    """The nested structure of `get_initial_state`, with the same batch."""
    layers = state.get("layers") if isinstance(state, dict) else None
    per_layer = 2 if cell == "lstm" else 1
    if (
        not isinstance(layers, (list, tuple))
        or len(layers) != num_layers
        or any(len(layer) != per_layer for layer in layers)
    ):
        received = sorted(state) if isinstance(state, dict) else type(state)
        raise ValueError(
            "`state` must be the structure returned by `get_initial_state` "
            "or a previous `step`: a dict whose 'layers' entry holds "
            f"{num_layers} lists of {per_layer} tensors. Received: {received}"
        )
    shapes = {
        f"state_leaf_{index}": tuple(leaf.shape)
        for index, leaf in enumerate(keras.tree.flatten(state))
    }
    _validation.check_same_batch(token_ids=token_ids_shape, **shapes)


def check_scores_request(decoder, return_attention_scores):
    """Attention scores only from a mode that returns them."""
    mode = decoder.conditioning_layer
    if return_attention_scores and not mode.returns_attention_scores:
        raise ValueError(
            "`return_attention_scores=True` needs a conditioning mode that "
            "returns attention scores. This decoder uses "
            f"conditioning={decoder.conditioning!r}."
        )
