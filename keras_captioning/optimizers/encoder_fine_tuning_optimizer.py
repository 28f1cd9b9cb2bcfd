import warnings

import keras
from keras import ops

from keras_captioning import _validation


@keras.saving.register_keras_serializable(package="keras_captioning")
class EncoderFineTuningOptimizer(keras.optimizers.Optimizer):
    """Wraps an optimizer so a pretrained encoder waits, then learns slowly.

    The wrapped optimizer (`optimizer`, Adam by default in `ImageCaptioner`)
    updates every variable as usual; the encoder's variables then keep none
    of their update while the optimizer's step count is below
    `encoder_warmup_steps`, and `encoder_learning_rate_multiplier` of it
    afterwards. The decoder thus learns to read the pretrained features
    before their gradients, random at first, can disturb them, and the
    encoder is fine-tuned at a smaller learning rate after that.

    The update is scaled, not the gradient: Adam divides each gradient by its
    own running size, so a scaled gradient would give the same step. For
    Adam (without weight decay) the scaled update is exactly the step of a
    learning rate `encoder_learning_rate_multiplier` times the decoder's.

    The schedule reads the wrapped optimizer's `iterations`, which is saved
    with the model and restored by `BackupAndRestore`, so it holds across
    several `fit` calls and resumed runs. During the warm-up the encoder's
    gradients are still computed (the wrapper cannot skip the backward
    pass); `ImageCaptioner.fine_tune` runs the warm-up on cached features
    instead (`ImageCaptioner.fit_on_features`, whose steps count here too)
    and then fine-tunes end to end.

    `ImageCaptioner.compile()` builds one from the captioner's
    `encoder_warmup_steps` and `encoder_learning_rate_multiplier` when its
    encoder carries trained weights, and tells it which variables are the
    encoder's (`set_encoder`). Works on the TensorFlow, JAX and PyTorch
    backends, and saves and loads with the model in `.keras` files,
    its state included.

    Args:
        optimizer: the `keras.optimizers.Optimizer` that computes the
            updates, for example `keras.optimizers.Adam(1e-3)`.
        encoder_learning_rate_multiplier: float > 0, the share of its
            update the encoder keeps after the warm-up (usually below 1).
            Defaults to `0.25`.
        encoder_warmup_steps: int >= 0. Training steps during which the
            encoder is not updated. Defaults to `60`.
        name: str or `None`, the optimizer's name.

    Example:

    >>> import keras
    >>> import keras_captioning
    >>> optimizer = keras_captioning.optimizers.EncoderFineTuningOptimizer(
    ...     keras.optimizers.Adam(1e-3, clipnorm=5.0),
    ...     encoder_learning_rate_multiplier=0.25,
    ...     encoder_warmup_steps=100,
    ... )
    >>> optimizer.encoder_warmup_steps, int(optimizer.iterations)
    (100, 0)

    With a model of your own, name its encoder (`ImageCaptioner` does this
    itself) and compile as usual:

    >>> encoder = keras.Sequential(
    ...     [keras.Input((4,)), keras.layers.Dense(3)], name="encoder"
    ... )
    >>> inputs = keras.Input((4,))
    >>> model = keras.Model(inputs, keras.layers.Dense(1)(encoder(inputs)))
    >>> optimizer.set_encoder(encoder)
    >>> model.compile(optimizer=optimizer, loss="mse")
    """

    def __init__(
        self,
        optimizer,
        encoder_learning_rate_multiplier=0.25,
        encoder_warmup_steps=60,
        name=None,
        **kwargs,
    ):
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise TypeError(
                "`optimizer` must be a `keras.optimizers.Optimizer` "
                f"instance. Received: optimizer={optimizer!r}"
            )
        if kwargs:
            raise ValueError(
                "EncoderFineTuningOptimizer takes no optimizer options of "
                "its own; set them on the wrapped `optimizer`. Received: "
                f"{sorted(kwargs)}"
            )
        encoder_learning_rate_multiplier = _validation.check_positive_float(
            "encoder_learning_rate_multiplier",
            encoder_learning_rate_multiplier,
        )
        encoder_warmup_steps = _validation.check_int(
            "encoder_warmup_steps", encoder_warmup_steps, minimum=0
        )
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = optimizer
        self.encoder_learning_rate_multiplier = encoder_learning_rate_multiplier
        self.encoder_warmup_steps = encoder_warmup_steps
        # A list, so that the optimizer does not track the layer itself.
        self._encoder = []
        self._encoder_named = False
        self._encoder_mask = None

    def set_encoder(self, encoder):
        """Names the layer whose trainable variables are the encoder's.

        `ImageCaptioner.compile` calls it, also when a `.keras` file is
        loaded. With a model of your own, call it after `compile` and after
        loading (the file keeps the schedule and its state, not which layer
        is the encoder), before training.

        Args:
            encoder: a Keras layer or model, or `None` (every variable then
                trains at the wrapped optimizer's pace).
        """
        if encoder is not None and not isinstance(encoder, keras.layers.Layer):
            raise TypeError(
                "`encoder` must be a Keras layer or model, or None. "
                f"Received: encoder={encoder!r}"
            )
        self._encoder = [] if encoder is None else [encoder]
        self._encoder_named = True
        if self.built:
            self._encoder_mask = tuple(
                self._mask_for(self._trainable_variables)
            )

    def build(self, var_list):
        if not self._encoder_named:
            warnings.warn(
                "EncoderFineTuningOptimizer was built without an encoder, so "
                "every variable trains at the wrapped optimizer's pace. Call "
                "`optimizer.set_encoder(encoder_layer)` before training.",
                stacklevel=2,
            )
        self._encoder_mask = tuple(self._mask_for(var_list))
        self.inner_optimizer.build(var_list)
        super().build(var_list)

    @property
    def variables(self):
        return self._variables + self.inner_optimizer.variables

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    def encoder_update_scale(self, step):
        """The share of its update the encoder keeps at `step` (a tensor).

        A public hook: override it for another schedule, for example a
        gradual unfreezing.
        """
        step = ops.cast(step, "float32")
        return ops.where(
            ops.less(step, float(self.encoder_warmup_steps)),
            0.0,
            self.encoder_learning_rate_multiplier,
        )

    def _scales_nothing(self):
        return self.encoder_warmup_steps == 0 and (
            self.encoder_learning_rate_multiplier == 1.0
        )

    def _mask_for(self, trainable_variables):
        keys = {
            id(variable)
            for layer in self._encoder
            for variable in layer.trainable_variables
        }
        return [id(v) in keys for v in trainable_variables]

    def apply(self, grads, trainable_variables=None):
        if not self.built:
            with keras.name_scope(self.name):
                self.build(trainable_variables)
            self.built = True
        grads = list(grads)
        variables = (
            list(trainable_variables)
            if trainable_variables is not None
            else self._trainable_variables
        )
        mask = (
            self._encoder_mask
            if trainable_variables is None
            else self._mask_for(trainable_variables)
        )
        if self._scales_nothing() or not any(mask):
            self.inner_optimizer.apply(grads, trainable_variables)
            return
        scale = self.encoder_update_scale(self.inner_optimizer.iterations)
        # Copies: the torch backend updates variables in place.
        before = [
            ops.copy(variable.value) if is_encoder else None
            for variable, is_encoder in zip(variables, mask)
        ]
        self.inner_optimizer.apply(grads, trainable_variables)
        for variable, previous in zip(variables, before):
            if previous is not None:
                variable.assign(
                    previous
                    + ops.cast(scale, variable.dtype)
                    * (variable.value - previous)
                )

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        if not self.built:
            raise ValueError(
                "To call `stateless_apply`, EncoderFineTuningOptimizer must "
                "be built: call `optimizer.build(trainable_variables)`."
            )
        own_count = len(self._variables)
        own_variables = list(optimizer_variables[:own_count])
        inner_variables = list(optimizer_variables[own_count:])
        step = inner_variables[self._inner_iterations_index()]
        new_trainable, new_inner = self.inner_optimizer.stateless_apply(
            inner_variables, grads, trainable_variables
        )
        if self._scales_nothing() or not any(self._encoder_mask):
            return new_trainable, own_variables + list(new_inner)
        scale = self.encoder_update_scale(step)
        new_trainable = [
            previous + ops.cast(scale, previous.dtype) * (new - previous)
            if is_encoder
            else new
            for previous, new, is_encoder in zip(
                trainable_variables, new_trainable, self._encoder_mask
            )
        ]
        return new_trainable, own_variables + list(new_inner)

    def _inner_iterations_index(self):
        for index, variable in enumerate(self.inner_optimizer.variables):
            if variable is self.inner_optimizer.iterations:
                return index
        raise ValueError("The wrapped optimizer has no `iterations` variable.")

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        return {
            "name": self.name,
            "optimizer": keras.saving.serialize_keras_object(
                self.inner_optimizer
            ),
            "encoder_learning_rate_multiplier": (
                self.encoder_learning_rate_multiplier
            ),
            "encoder_warmup_steps": self.encoder_warmup_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        optimizer = keras.saving.deserialize_keras_object(
            config.pop("optimizer"), custom_objects=custom_objects
        )
        return cls(optimizer, **config)
