"""`keras-captioning train` trains the model the library's defaults build."""

import numpy as np
import pytest

import keras_captioning
from keras_captioning.cli import _common
from keras_captioning.cli import train

VOCABULARY = ["a", "red", "circle"]


def test_the_command_defaults_are_the_library_defaults(tmp_path):
    args = train.parse_args([f"--captions={tmp_path}"])
    command = train.build_captioner(args, VOCABULARY, encoder=None)
    train.compile_captioner(command, args)
    library = keras_captioning.models.ImageCaptioner(VOCABULARY, encoder=None)
    library.compile()
    for name in ("units", "embedding_dim", "num_layers", "cell"):
        assert getattr(command.decoder, name) == getattr(library.decoder, name)
    assert command.decoder.conditioning == library.decoder.conditioning
    for name in ("units", "activation"):
        assert getattr(command.feature_to_sequence, name) == getattr(
            library.feature_to_sequence, name
        )
    assert command.max_length == library.max_length
    for name in ("learning_rate", "clipnorm"):
        np.testing.assert_allclose(
            float(np.asarray(getattr(command.optimizer, name))),
            float(np.asarray(getattr(library.optimizer, name))),
        )
    assert type(command.optimizer) is type(library.optimizer)
    # The one documented difference: dropout for photos that overfit.
    assert command.decoder.dropout == train.DEFAULT_DROPOUT
    assert command.feature_to_sequence.dropout == train.DEFAULT_DROPOUT


def test_given_options_reach_the_model(tmp_path):
    args = train.parse_args(
        [
            f"--captions={tmp_path}",
            "--units=16",
            "--embedding-dim=8",
            "--feature-units=12",
            "--dropout=0.1",
            "--learning-rate=0.01",
        ]
    )
    captioner = train.build_captioner(args, VOCABULARY, encoder=None)
    train.compile_captioner(captioner, args)
    assert (captioner.decoder.units, captioner.decoder.embedding_dim) == (
        16,
        8,
    )
    assert captioner.feature_to_sequence.units == 12
    assert captioner.decoder.dropout == captioner.feature_to_sequence.dropout
    assert captioner.decoder.dropout == 0.1
    np.testing.assert_allclose(
        float(np.asarray(captioner.optimizer.learning_rate)), 0.01
    )


def test_encoder_fine_tuning_options_reach_the_model(tmp_path):
    def captioner_for(*flags):
        args = train.parse_args(
            [f"--captions={tmp_path}", "--encoder=simple_cnn", *flags]
        )
        return train.build_captioner(
            args, VOCABULARY, args.encoder, image_size=(32, 32)
        )

    # An encoder without weights trains jointly from the first step.
    captioner = captioner_for()
    assert captioner.encoder_pretrained is False
    assert captioner.encoder_learning_rate_multiplier == 1.0
    assert captioner.encoder_warmup_steps == 0
    assert captioner.encoder_inference_mode is False

    captioner = captioner_for(
        "--encoder-learning-rate-multiplier=0.1",
        "--encoder-warmup-steps=30",
        "--encoder-inference-mode=yes",
    )
    assert captioner.encoder_learning_rate_multiplier == 0.1
    assert captioner.encoder_warmup_steps == 30
    assert captioner.encoder_inference_mode is True


def test_a_bad_encoder_fine_tuning_option_is_a_usage_error(tmp_path):
    args = train.parse_args(
        [
            f"--captions={tmp_path}",
            "--encoder=simple_cnn",
            "--encoder-warmup-steps=-1",
        ]
    )
    with pytest.raises(_common.UsageError, match="encoder_warmup_steps"):
        train.build_captioner(args, VOCABULARY, args.encoder, (32, 32))
