"""The policy-gradient loss of self-critical sequence training."""

import keras
from keras import ops

from keras_captioning import _validation

# Banned tokens get this logit, as the sampler gives them -inf: exp() of
# it is exactly 0 in float32, and it keeps gradients finite.
_BANNED_LOGIT = -1e9


@keras.saving.register_keras_serializable(package="keras_captioning")
class SelfCriticalLoss(keras.losses.Loss):
    """The self-critical policy-gradient loss of sampled captions.

    For each caption, `-advantage * sum(log p(token)) / num_counted`, where
    the sum runs over the tokens the sampler chose, up to and including the
    end token, and `log p` is `log_softmax` of the logits with the banned
    tokens masked out, as in sampling; the result is averaged over the
    captions of the batch.

    `y_true` packs, per caption, the advantage (column 0) and the sampled
    token ids (columns 1 to `steps`), with `-1` at the steps that do not
    count: the steps after the end token and a token the loop forced (the
    end token after `max_length` words).

    Args:
        banned_token_ids: sequence of ints, the tokens sampling never
            chooses (pad, start, unknown).
        **kwargs: passed to `keras.losses.Loss` (`name`, `dtype`).

    Call arguments:
        y_true: float tensor `(batch, 1 + steps)`.
        y_pred: float tensor `(batch, steps, vocabulary_size)`, the logits.

    Returns:
        A scalar, the mean over the batch of the per-caption losses
        (times `sample_weight` where one is given); with
        `reduction="none"`, the per-caption losses.

    `ImageCaptioner.fit_self_critical` compiles the captioner with this
    loss for its phase; it is public so that a custom training recipe (a
    different sampler, reward or baseline) can use it with `fit`.

    Example:

    >>> loss = keras_captioning.losses.SelfCriticalLoss(
    ...     banned_token_ids=(0, 1)
    ... )
    >>> logits = np.zeros((1, 3, 4), "float32")  # 2 allowed tokens
    >>> y_true = np.array([[2.0, 3, 2, -1]], "float32")  # 2 counted
    >>> round(float(loss(y_true, logits)), 4)  # -2 * (2 * log(1/2)) / 2
    1.3863
    """

    def __init__(self, banned_token_ids=(0, 1, 3), **kwargs):
        super().__init__(**kwargs)
        self.banned_token_ids = tuple(
            _validation.check_token_id("banned_token_ids", token_id)
            for token_id in banned_token_ids
        )

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "float32")
        advantage = y_true[:, 0]
        targets = ops.cast(y_true[:, 1:], "int32")
        logits = ops.cast(y_pred, "float32")
        vocabulary = ops.arange(ops.shape(logits)[-1])
        banned = ops.zeros_like(vocabulary, dtype="bool")
        for token_id in self.banned_token_ids:
            banned = ops.logical_or(banned, ops.equal(vocabulary, token_id))
        logits = ops.where(banned, _BANNED_LOGIT, logits)
        log_probs = ops.log_softmax(logits, axis=-1)
        counted = ops.greater_equal(targets, 0)
        chosen = ops.take_along_axis(
            log_probs, ops.expand_dims(ops.maximum(targets, 0), -1), axis=-1
        )[..., 0]
        chosen = ops.where(counted, chosen, 0.0)
        num_counted = ops.maximum(
            ops.sum(ops.cast(counted, "float32"), axis=-1), 1.0
        )
        return -advantage * ops.sum(chosen, axis=-1) / num_counted

    def __call__(self, y_true, y_pred, sample_weight=None):
        # Keras's reduction would apply the mask the logits carry to the
        # per-caption losses; the batch mean is taken here instead.
        losses = self.call(y_true, y_pred)
        if sample_weight is not None:
            losses = losses * ops.cast(sample_weight, "float32")
        if self.reduction in ("none", None):
            return losses
        if self.reduction == "sum":
            return ops.sum(losses)
        return ops.mean(losses)

    def get_config(self):
        config = super().get_config()
        config["banned_token_ids"] = list(self.banned_token_ids)
        return config
