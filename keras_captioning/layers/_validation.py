"""Moved to `keras_captioning._validation`; kept until the layers import it."""

from keras_captioning._validation import check_token_ids  # noqa: F401
from keras_captioning._validation import concrete_values  # noqa: F401
