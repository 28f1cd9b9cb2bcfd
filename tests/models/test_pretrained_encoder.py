"""`ImageCaptioner` with an encoder that carries trained weights."""

import keras
import numpy as np
import pytest

import keras_captioning
from keras_captioning.models import ImageCaptioner
from keras_captioning.models import SimpleCNN
from keras_captioning.optimizers import EncoderFineTuningOptimizer

VOCABULARY = ["a", "red", "blue", "circle", "square"]
CAPTIONS = ["a red circle", "a blue square", "a red square", "a circle"]


def pretrained_encoder():
    """A built Keras model, as a user's loaded network arrives."""
    return keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(4, 3, strides=2, name="conv"),
            keras.layers.BatchNormalization(name="batch_norm"),
        ],
        name="my_encoder",
    )


def small_captioner(encoder, **kwargs):
    keras.utils.set_random_seed(0)
    return ImageCaptioner(
        VOCABULARY,
        encoder=encoder,
        feature_to_sequence={"units": 8},
        decoder={"embedding_dim": 8, "units": 8},
        max_length=4,
        **kwargs,
    )


def images():
    return np.random.default_rng(0).integers(
        0, 256, (4, 16, 16, 3), dtype="uint8"
    )


@pytest.mark.parametrize(
    "encoder, expected",
    [
        (pretrained_encoder, (True, 0.25, 60, True)),
        (lambda: "simple_cnn", (False, 1.0, 0, False)),
        (lambda: SimpleCNN(filters=(4,)), (False, 1.0, 0, False)),
    ],
)
def test_defaults_follow_whether_the_encoder_carries_weights(encoder, expected):
    captioner = small_captioner(encoder())
    assert (
        captioner.encoder_pretrained,
        captioner.encoder_learning_rate_multiplier,
        captioner.encoder_warmup_steps,
        captioner.encoder_inference_mode,
    ) == expected


def test_a_user_can_say_their_encoder_is_untrained():
    captioner = small_captioner(pretrained_encoder(), encoder_pretrained=False)
    assert captioner.encoder_warmup_steps == 0
    captioner.compile()
    assert isinstance(captioner.optimizer, keras.optimizers.Adam)


def test_a_frozen_encoder_stays_frozen_without_a_schedule():
    captioner = small_captioner(pretrained_encoder(), encoder_trainable=False)
    captioner.compile()
    assert not isinstance(captioner.optimizer, EncoderFineTuningOptimizer)
    assert not captioner.encoder.trainable_variables


def test_the_encoder_waits_then_learns_in_inference_mode(tmp_path):
    captioner = small_captioner(
        pretrained_encoder(),
        encoder_warmup_steps=2,
        encoder_learning_rate_multiplier=0.5,
    )
    captioner.compile()
    assert isinstance(captioner.optimizer, EncoderFineTuningOptimizer)
    token_ids = captioner.tokenize(CAPTIONS)
    x = images()
    captioner.build({"images": (None, 16, 16, 3), "token_ids": (None, None)})
    start = [w.copy() for w in captioner.encoder.get_weights()]
    decoder_start = [w.copy() for w in captioner.decoder.get_weights()]
    # One step per `fit`, as a hand-written loop calls it.
    for _ in range(2):
        captioner.fit(x, token_ids, batch_size=4, epochs=1, verbose=0)
    for before, after in zip(start, captioner.encoder.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert not all(
        np.array_equal(b, a)
        for b, a in zip(decoder_start, captioner.decoder.get_weights())
    )
    path = tmp_path / "captioner.keras"
    captioner.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.optimizer, EncoderFineTuningOptimizer)
    assert int(loaded.optimizer.iterations) == 2
    assert loaded.caption(x) == captioner.caption(x)
    loaded.fit(x, token_ids, batch_size=4, epochs=1, verbose=0)
    batch_norm = loaded.encoder.get_layer("batch_norm")
    kernel = loaded.encoder.get_layer("conv").kernel
    assert not np.allclose(keras.ops.convert_to_numpy(kernel), start[0])
    # Inference mode: BatchNormalization keeps its pretrained statistics.
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(batch_norm.moving_mean), start[-2]
    )


def test_the_scaled_step_is_smaller_than_the_full_one():
    steps = {}
    for multiplier in (1.0, 0.25):
        captioner = small_captioner(
            pretrained_encoder(),
            encoder_warmup_steps=0,
            encoder_learning_rate_multiplier=multiplier,
        )
        # The step's size, the same traced or not (the traced schedule:
        # the test above).
        captioner.compile(run_eagerly=True)
        start = captioner.encoder.get_layer("conv").get_weights()[0].copy()
        captioner.fit(
            images(), captioner.tokenize(CAPTIONS), batch_size=4, verbose=0
        )
        kernel = captioner.encoder.get_layer("conv").get_weights()[0]
        steps[multiplier] = np.abs(kernel - start).max()
    # The same first gradients: Adam's first step is the learning rate.
    np.testing.assert_allclose(steps[0.25], 0.25 * steps[1.0], rtol=1e-3)


def test_old_configs_keep_training_as_before():
    captioner = small_captioner(pretrained_encoder())
    config = captioner.get_config()
    for key in (
        "encoder_pretrained",
        "encoder_learning_rate_multiplier",
        "encoder_warmup_steps",
        "encoder_inference_mode",
    ):
        del config[key]
    old = ImageCaptioner.from_config(config)
    assert (
        old.encoder_pretrained,
        old.encoder_learning_rate_multiplier,
        old.encoder_warmup_steps,
        old.encoder_inference_mode,
    ) == (False, 1.0, 0, False)
    rebuilt = ImageCaptioner.from_config(captioner.get_config())
    assert rebuilt.encoder_warmup_steps == captioner.encoder_warmup_steps


@pytest.mark.parametrize(
    "argument, value, error",
    [
        ("encoder_learning_rate_multiplier", -1.0, ValueError),
        ("encoder_warmup_steps", -5, ValueError),
        ("encoder_inference_mode", "yes", TypeError),
        ("encoder_pretrained", 1, TypeError),
    ],
)
def test_bad_settings_are_named(argument, value, error):
    with pytest.raises(error, match=argument):
        small_captioner(pretrained_encoder(), **{argument: value})


def test_public_name():
    assert (
        keras_captioning.optimizers.EncoderFineTuningOptimizer
        is EncoderFineTuningOptimizer
    )


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("killed")


def test_a_resumed_run_continues_the_warmup(tmp_path):
    backup = str(tmp_path / "backup")
    for attempt in range(2):
        captioner = small_captioner(
            pretrained_encoder(), encoder_warmup_steps=2
        )
        captioner.compile()
        captioner.build(
            {"images": (None, 16, 16, 3), "token_ids": (None, None)}
        )
        token_ids = captioner.tokenize(CAPTIONS)
        callbacks = [keras.callbacks.BackupAndRestore(backup)]
        if attempt == 0:
            start = [w.copy() for w in captioner.encoder.get_weights()]
            with pytest.raises(RuntimeError, match="killed"):
                captioner.fit(
                    images(),
                    token_ids,
                    batch_size=4,
                    epochs=3,
                    verbose=0,
                    callbacks=callbacks + [_Interrupt()],
                )
        else:
            # Resumed after one epoch (one step): one warm-up step is left.
            captioner.fit(
                images(),
                token_ids,
                batch_size=4,
                epochs=2,
                verbose=0,
                callbacks=callbacks,
            )
    assert int(captioner.optimizer.iterations) == 2
    for before, after in zip(start, captioner.encoder.get_weights()):
        np.testing.assert_array_equal(before, after)


REFERENCES = [[caption] for caption in CAPTIONS]


def weights(layer):
    return [w.copy() for w in layer.get_weights()]


def changed(before, layer):
    return any(
        not np.array_equal(b, a) for b, a in zip(before, layer.get_weights())
    )


@pytest.mark.large
def test_fine_tune_warms_up_on_features_then_trains_the_encoder(tmp_path):
    # Two rows a step: an epoch is two steps, the warm-up four.
    captioner = small_captioner(pretrained_encoder(), encoder_warmup_steps=3)
    captioner.compile()
    captioner.build({"images": (None, 16, 16, 3), "token_ids": (None, None)})
    encoder_start = weights(captioner.encoder)
    decoder_start = weights(captioner.decoder)
    history = captioner.fine_tune(
        images(), REFERENCES, tmp_path, warmup_epochs=2, epochs=1,
        batch_size=2, seed=0, verbose=0,
    )  # fmt: skip
    assert history.epoch == [0, 1, 2]
    assert len(history.history["loss"]) == 3
    # The cached steps count: the encoder's own warm-up (3 steps) was over
    # when end-to-end training began, so the encoder trained.
    assert int(captioner.optimizer.iterations) == 6
    assert changed(decoder_start, captioner.decoder)
    assert changed(encoder_start, captioner.encoder)
    # Inference mode: BatchNormalization keeps its pretrained statistics.
    batch_norm = captioner.encoder.get_layer("batch_norm")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(batch_norm.moving_mean), encoder_start[-2]
    )


@pytest.mark.large
def test_fine_tune_does_not_repeat_the_warmup(tmp_path):
    captioner = small_captioner(pretrained_encoder(), encoder_warmup_steps=3)
    captioner.compile()
    encoder_start = weights(captioner.encoder)

    def fine_tune(model, epochs):
        return model.fine_tune(
            images(), REFERENCES, tmp_path / "cache", warmup_epochs=2,
            epochs=epochs, batch_size=2, seed=0, verbose=0,
        )  # fmt: skip

    # The warm-up alone: the encoder is not trained, the decoder's Adam
    # state lands in the captioner's optimizer with the step count.
    history = fine_tune(captioner, 0)
    assert history.epoch == [0, 1]
    assert int(captioner.optimizer.iterations) == 4
    assert not changed(encoder_start, captioner.encoder)
    kernel = captioner.decoder.trainable_variables[0]
    (momentum,) = [
        v
        for v in captioner.optimizer.variables
        if v.name == f"{kernel.path.replace('/', '_')}_momentum"
    ]
    assert np.any(keras.ops.convert_to_numpy(momentum) != 0)
    # A second call goes straight to fine-tuning.
    history = fine_tune(captioner, 1)
    assert history.epoch == [0]
    assert int(captioner.optimizer.iterations) == 6
    assert changed(encoder_start, captioner.encoder)
    # So does a captioner loaded from a file saved after the warm-up.
    path = tmp_path / "captioner.keras"
    captioner.save(path)
    loaded = keras.saving.load_model(path)
    assert int(loaded.optimizer.iterations) == 6
    assert loaded.caption(images()) == captioner.caption(images())
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded.optimizer.variables[-1]),
        keras.ops.convert_to_numpy(captioner.optimizer.variables[-1]),
    )
    history = fine_tune(loaded, 1)
    assert history.epoch == [0]
    assert int(loaded.optimizer.iterations) == 8


@pytest.mark.parametrize(
    "arguments, error, match",
    [
        ({"warmup_epochs": -1}, ValueError, "warmup_epochs=-1"),
        ({"warmup_epochs": 1.5}, TypeError, "warmup_epochs"),
        ({"epochs": "2"}, TypeError, "epochs"),
        ({"batch_size": 0}, ValueError, "batch_size=0"),
        ({"initial_epoch": 1}, ValueError, "initial_epoch=1"),
    ],
)
def test_fine_tune_names_a_bad_argument(tmp_path, arguments, error, match):
    captioner = small_captioner(pretrained_encoder())
    captioner.compile()
    with pytest.raises(error, match=match):
        captioner.fine_tune(images(), REFERENCES, tmp_path, **arguments)


def test_fine_tune_refuses_what_it_cannot_train(tmp_path):
    frozen = small_captioner(pretrained_encoder(), encoder_trainable=False)
    frozen.compile()
    with pytest.raises(ValueError, match="fit_on_features"):
        frozen.fine_tune(images(), REFERENCES, tmp_path)
    with pytest.raises(ValueError, match="compiled"):
        small_captioner(pretrained_encoder()).fine_tune(
            images(), REFERENCES, tmp_path
        )
    features = small_captioner(None)
    features.compile()
    with pytest.raises(ValueError, match="encoder=None"):
        features.fine_tune(images(), REFERENCES, tmp_path)
