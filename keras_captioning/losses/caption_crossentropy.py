import keras
from keras import ops

_REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "none", None)


@keras.saving.register_keras_serializable(package="keras_captioning")
class CaptionCrossentropy(keras.losses.Loss):
    """Sparse cross-entropy from logits, averaged over real tokens only.

    Caption batches are padded, and a plain mean over every position lets the
    padding dilute the loss by a different amount in every batch. This loss
    ignores targets equal to `pad_token_id` and divides by the number of real
    tokens, whatever mask the logits carry. It runs in float32 even under
    mixed precision.

    Label smoothing mixes the one-hot target with a uniform distribution over
    the vocabulary: `(1 - label_smoothing) * nll + label_smoothing *
    mean(-log_softmax(logits))`.

    Args:
        label_smoothing: float in `[0, 1)`. Defaults to `0.0`.
        pad_token_id: int. Target id that carries no loss. Defaults to `0`.
        reduction: `"sum_over_batch_size"` (the mean over real tokens),
            `"sum"`, or `"none"` (per-token losses, zero at padding).
            Defaults to `"sum_over_batch_size"`.
        name: string. Defaults to `"caption_crossentropy"`.
        dtype: the dtype of the loss computations. Defaults to `None`, which
            means float32.

    Call arguments:
        y_true: int tensor `(batch, steps)`, the target token ids.
        y_pred: float tensor `(batch, steps, vocabulary_size)`, the logits.
        sample_weight: optional float tensor broadcastable to `(batch,
            steps)`.

    Returns:
        A float32 scalar, or `(batch, steps)` with `reduction="none"`.

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> loss = keras_captioning.losses.CaptionCrossentropy()
    >>> targets = np.array([[5, 2, 0, 0]])
    >>> logits = np.zeros((1, 4, 10), "float32")
    >>> round(float(loss(targets, logits)), 4)  # log(10), padding ignored
    2.3026
    """

    def __init__(
        self,
        label_smoothing=0.0,
        pad_token_id=0,
        reduction="sum_over_batch_size",
        name="caption_crossentropy",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if (
            not isinstance(label_smoothing, (int, float))
            or isinstance(label_smoothing, bool)
            or not 0.0 <= label_smoothing < 1.0
        ):
            raise ValueError(
                "`label_smoothing` must be a float in [0, 1). "
                f"Received: label_smoothing={label_smoothing!r}"
            )
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"`reduction` must be one of {_REDUCTIONS}. "
                f"Received: reduction={reduction!r}"
            )
        self.label_smoothing = float(label_smoothing)
        self.pad_token_id = pad_token_id

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        log_probs = ops.log_softmax(ops.cast(y_pred, "float32"), axis=-1)
        target_log_probs = ops.take_along_axis(
            log_probs, ops.expand_dims(y_true, -1), axis=-1
        )[..., 0]
        losses = -target_log_probs
        if self.label_smoothing:
            uniform = -ops.mean(log_probs, axis=-1)
            losses = (
                1.0 - self.label_smoothing
            ) * losses + self.label_smoothing * uniform
        return ops.where(ops.not_equal(y_true, self.pad_token_id), losses, 0.0)

    def __call__(self, y_true, y_pred, sample_weight=None):
        # Keras's own reduction would apply the logits' mask a second time;
        # the real-token mean is computed here, once, from the targets.
        y_true = ops.convert_to_tensor(y_true)
        losses = self.call(y_true, y_pred)
        weights = ops.cast(
            ops.not_equal(ops.cast(y_true, "int32"), self.pad_token_id),
            "float32",
        )
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            while len(sample_weight.shape) < len(losses.shape):
                sample_weight = ops.expand_dims(sample_weight, -1)
            weights = weights * sample_weight
            losses = losses * sample_weight
        if self.reduction in ("none", None):
            return losses
        total = ops.sum(losses)
        if self.reduction == "sum":
            return total
        return _scale_for_replicas(ops.divide_no_nan(total, ops.sum(weights)))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "label_smoothing": self.label_smoothing,
                "pad_token_id": self.pad_token_id,
            }
        )
        return config


def _scale_for_replicas(loss):
    """Divides by the replica count under `tf.distribute`, as Keras does.

    Each replica's mean is summed across replicas when gradients are
    aggregated, so without this a `MirroredStrategy` over two devices would
    train on twice the loss.
    """
    if keras.backend.backend() != "tensorflow":
        return loss
    import tensorflow as tf

    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1:
        loss = loss / replicas
    return loss
