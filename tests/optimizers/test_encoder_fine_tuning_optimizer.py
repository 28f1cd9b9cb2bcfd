"""`EncoderFineTuningOptimizer`: the encoder waits, then learns slower."""

import keras
import numpy as np
import pytest

import keras_captioning
from keras_captioning.optimizers import EncoderFineTuningOptimizer


def two_part_model():
    encoder = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2, name="encoder_dense")],
        name="encoder",
    )
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(1, name="head")(encoder(inputs))
    return keras.Model(inputs, outputs), encoder


def test_the_encoder_update_is_zero_then_scaled():
    model, encoder = two_part_model()
    optimizer = EncoderFineTuningOptimizer(
        keras.optimizers.SGD(0.1),
        encoder_learning_rate_multiplier=0.5,
        encoder_warmup_steps=2,
    )
    optimizer.set_encoder(encoder)
    variables = model.trainable_variables
    optimizer.build(variables)
    grads = [keras.ops.ones(v.shape) for v in variables]
    is_encoder = [
        any(v is e for e in encoder.trainable_variables) for v in variables
    ]
    for step in range(4):
        before = [keras.ops.convert_to_numpy(v) for v in variables]
        optimizer.apply(grads, variables)
        for variable, previous, encoder_part in zip(
            variables, before, is_encoder
        ):
            expected_step = 0.1 * (0.5 if step >= 2 else 0.0)
            if not encoder_part:
                expected_step = 0.1
            np.testing.assert_allclose(
                previous - keras.ops.convert_to_numpy(variable),
                expected_step,
                rtol=1e-5,
            )
    assert int(optimizer.iterations) == 4


def test_fit_follows_the_step_count_and_saves_it(tmp_path):
    model, encoder = two_part_model()
    optimizer = EncoderFineTuningOptimizer(
        keras.optimizers.Adam(0.01), encoder_warmup_steps=3
    )
    optimizer.set_encoder(encoder)
    model.compile(optimizer, "mse")
    x = np.random.default_rng(0).random((4, 3)).astype("float32")
    y = np.ones((4, 1), "float32")
    start = [w.copy() for w in encoder.get_weights()]
    # Two `fit` calls of one step each: the warm-up counts steps, not calls.
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    with pytest.warns(UserWarning, match="set_encoder"):
        loaded = keras.saving.load_model(path)
    assert isinstance(loaded.optimizer, EncoderFineTuningOptimizer)
    assert int(loaded.optimizer.iterations) == 2
    loaded_encoder = loaded.get_layer("encoder")
    # The file keeps the schedule and its step, not which layer it slows.
    loaded.optimizer.set_encoder(loaded_encoder)
    loaded.fit(x, y, batch_size=4, epochs=1, verbose=0)
    for before, after in zip(start, loaded_encoder.get_weights()):
        np.testing.assert_array_equal(before, after)
    loaded.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert not np.allclose(start[0], loaded_encoder.get_weights()[0])
    assert loaded.optimizer.get_config() == optimizer.get_config()


def test_learning_rate_belongs_to_the_wrapped_optimizer():
    inner = keras.optimizers.Adam(0.002)
    optimizer = EncoderFineTuningOptimizer(inner)
    optimizer.learning_rate = 0.001
    assert float(inner.learning_rate) == pytest.approx(0.001)
    assert optimizer.iterations is inner.iterations


@pytest.mark.parametrize(
    "arguments, error",
    [
        ({"optimizer": "adam"}, TypeError),
        ({"encoder_learning_rate_multiplier": 0.0}, ValueError),
        ({"encoder_warmup_steps": -1}, ValueError),
        ({"clipnorm": 1.0}, ValueError),
    ],
)
def test_bad_arguments_are_named(arguments, error):
    arguments = {"optimizer": keras.optimizers.Adam(), **arguments}
    name = next(iter(arguments.keys() - {"optimizer"}), "optimizer")
    with pytest.raises(error, match=name):
        EncoderFineTuningOptimizer(**arguments)


def test_fit_on_features_trains_the_head_without_a_warning(tmp_path, recwarn):
    encoder = keras.Sequential(
        [keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, strides=4)],
        name="encoder",
    )
    captioner = keras_captioning.models.ImageCaptioner(
        ["a", "red", "circle"],
        encoder=encoder,
        feature_to_sequence={"units": 8},
        decoder={"embedding_dim": 8, "units": 8},
        max_length=3,
    )
    captioner.compile()
    images = np.zeros((2, 16, 16, 3), "uint8")
    captioner.fit_on_features(
        images, [["a red circle"], ["a circle"]], tmp_path, verbose=0
    )
    assert not [w for w in recwarn if "set_encoder" in str(w.message)]
    # The cached phase's step counts towards the fine-tuning schedule.
    assert int(captioner.optimizer.iterations) == 1
