"""Files saved by the single-class `CaptionDecoder` still load and agree.

The fixtures in `legacy_models/` were written by `make_legacy_models.py`
with the decoder of commit fbcc66a, before the conditioning modes became
layers of their own. The modes' sub-layers have moved, so these files load
only through `Conditioning.saved_weight_aliases`; a broken mapping leaves
weights at their initial values and the logits below differ.
"""

import json
import os

import keras
import numpy as np
import pytest

import keras_captioning  # noqa: F401  (registers the layers)

HERE = os.path.join(os.path.dirname(__file__), "legacy_models")
MODES = ("init_inject", "pre_inject", "par_inject", "merge", "attention")


@pytest.fixture(scope="module")
def expected():
    return dict(np.load(os.path.join(HERE, "expected_decoder_outputs.npz")))


@pytest.fixture(scope="module")
def decoders_model():
    return keras.saving.load_model(os.path.join(HERE, "decoders.keras"))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("mode", MODES)
def test_legacy_decoder_gives_the_saved_logits(
    mode, cell, expected, decoders_model
):
    name = f"{mode}_{cell}"
    token_ids, features = expected["token_ids"], expected["image_features"]
    decoder = decoders_model.get_layer(f"decoder_{name}")
    assert decoder.conditioning == mode
    logits = decoder(token_ids, features)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(logits),
        expected[f"{name}/teacher_forced"],
        atol=1e-5,
    )
    state = decoder.get_initial_state(features)
    stepped = []
    for position in range(token_ids.shape[1]):
        step_logits, state = decoder.step(token_ids[:, position], state)
        stepped.append(keras.ops.convert_to_numpy(step_logits))
    np.testing.assert_allclose(
        np.stack(stepped, axis=1), expected[f"{name}/stepped"], atol=1e-5
    )


def test_legacy_decoder_saved_again_loads_with_equal_logits(
    expected, decoders_model, tmp_path
):
    path = tmp_path / "resaved.keras"
    decoders_model.save(path)
    reloaded = keras.saving.load_model(path)
    inputs = [expected["token_ids"], expected["image_features"]]
    for name, logits in reloaded.predict(inputs, verbose=0).items():
        np.testing.assert_allclose(
            logits, expected[f"{name}/teacher_forced"], atol=1e-5
        )


def test_legacy_captioner_writes_the_saved_captions():
    captioner = keras.saving.load_model(
        os.path.join(HERE, "captioner_attention.keras")
    )
    images = np.load(os.path.join(HERE, "captioner_images.npz"))["images"]
    with open(os.path.join(HERE, "captioner_captions.json")) as file:
        captions = json.load(file)
    assert len(set(captions)) == len(captions)
    assert captioner.caption(images, strategy="greedy") == captions
