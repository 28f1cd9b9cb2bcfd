import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_captioning")
class MaskedTokenAccuracy(keras.metrics.Metric):
    """Next-token accuracy over real tokens, padding excluded.

    The fraction of target tokens, other than `pad_token_id`, that are the
    argmax of the logits. This is the training-time metric that
    `ImageCaptioner.compile()` adds by default; caption quality is measured
    with `corpus_bleu`, `cider_d` and `rouge_l`.

    Args:
        pad_token_id: int. Target id that is not counted. Defaults to `0`.
        name: string. Defaults to `"accuracy"`.
        dtype: dtype of the metric's variables. Defaults to `None`.

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> metric = keras_captioning.metrics.MaskedTokenAccuracy()
    >>> logits = np.eye(4, dtype="float32")[None, [1, 2, 0]]
    >>> metric.update_state(np.array([[1, 3, 0]]), logits)
    >>> float(metric.result())
    0.5
    """

    def __init__(self, pad_token_id=0, name="accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.pad_token_id = pad_token_id
        self.correct = self.add_variable(
            shape=(), initializer="zeros", dtype="float32", name="correct"
        )
        self.count = self.add_variable(
            shape=(), initializer="zeros", dtype="float32", name="count"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        weights = ops.cast(ops.not_equal(y_true, self.pad_token_id), "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            while len(sample_weight.shape) < len(weights.shape):
                sample_weight = ops.expand_dims(sample_weight, -1)
            weights = weights * sample_weight
        matches = ops.cast(ops.equal(predicted, y_true), "float32")
        self.correct.assign_add(ops.sum(matches * weights))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.correct, self.count)

    def reset_state(self):
        self.correct.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        config = super().get_config()
        config.update({"pad_token_id": self.pad_token_id})
        return config
