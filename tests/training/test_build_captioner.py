"""`build_captioner` and `compile_captioner` make the captioner that
`keras-captioning train` describes with flat options."""

import numpy as np
import pytest

import keras_captioning
from keras_captioning.training import build_captioner
from keras_captioning.training import compile_captioner

VOCABULARY = ["a", "red", "circle"]


def test_no_options_is_the_library_default():
    built = build_captioner(VOCABULARY, encoder="simple_cnn").get_config()
    default = keras_captioning.models.ImageCaptioner(VOCABULARY).get_config()
    assert {**built, "name": None} == {**default, "name": None}


def test_options_reach_their_parts():
    captioner = build_captioner(
        VOCABULARY,
        encoder="simple_cnn",
        image_size=(32, 24),
        freeze_encoder=True,
        encoder_warmup_steps=3,
        conditioning="init_inject",
        units=16,
        embedding_dim=8,
        feature_units=12,
        dropout=0.1,
        max_length=7,
    )
    decoder, projection = captioner.decoder, captioner.feature_to_sequence
    assert (decoder.units, decoder.embedding_dim) == (16, 8)
    assert decoder.conditioning == "init_inject"
    assert (projection.units, projection.dropout, decoder.dropout) == (
        12,
        0.1,
        0.1,
    )
    assert captioner.max_length == 7
    assert captioner.preprocessor.target_size == (32, 24)
    assert captioner.encoder.trainable is False
    assert captioner.encoder_warmup_steps == 3


def test_bad_options_name_themselves():
    with pytest.raises(TypeError, match=r"Unknown option\(s\) \['unit'\]"):
        build_captioner(VOCABULARY, encoder=None, unit=16)
    with pytest.raises(ValueError, match="encoder_warmup_steps"):
        build_captioner(VOCABULARY, "simple_cnn", encoder_warmup_steps=-1)


def test_compile_captioner_sets_adam_at_the_learning_rate():
    captioner = compile_captioner(build_captioner(VOCABULARY, encoder=None))
    default = float(np.asarray(captioner.optimizer.learning_rate))
    np.testing.assert_allclose(default, 1e-3)
    compile_captioner(captioner, learning_rate=0.01)
    np.testing.assert_allclose(
        float(np.asarray(captioner.optimizer.learning_rate)), 0.01
    )
    assert float(np.asarray(captioner.optimizer.clipnorm)) == 5.0
    for learning_rate in (0, 1, 2):
        with pytest.raises(ValueError, match="learning_rate"):
            compile_captioner(captioner, learning_rate=learning_rate)
