"""Whether generated captions end by the model's choice."""

import numpy as np

from keras_captioning import _validation


def ends_properly(token_ids, end_token_id, max_length):
    """Whether the model itself chose to end each generated caption.

    Generation forces the end token after `max_length` words, so a caption
    that reaches the cap "ends" without the model having chosen to. A model
    that rambles or repeats itself hits the cap; the share of captions that
    end properly tells it apart from one that stops.

    Args:
        token_ids: int array `(n, steps)` as returned by
            `ImageCaptioner.generate` (no start token).
        end_token_id: int, the end token (`captioner.tokenizer.end_id`).
        max_length: int, the word cap generation ran with (the
            `max_length` passed to `generate`, by default the captioner's).

    Returns:
        NumPy bool array `(n,)`: `True` where the end token appears among
        the first `max_length` tokens.

    Example:

    >>> token_ids = np.array([[5, 6, 2, 0], [5, 6, 7, 2]])
    >>> keras_captioning.metrics.ends_properly(token_ids, 2, max_length=3)
    array([ True, False])
    """
    token_ids = np.asarray(token_ids)
    _validation.check_rank("token_ids", token_ids.shape, (2,), "(n, steps)")
    end_token_id = _validation.check_token_id("end_token_id", end_token_id)
    max_length = _validation.check_int("max_length", max_length)
    return np.any(token_ids[:, :max_length] == end_token_id, axis=1)
