"""Writes the legacy `.keras` fixtures and their expected outputs.

These files were written with the single-class `CaptionDecoder` of commit
fbcc66a (before the conditioning modes became objects), on the tensorflow
backend, by running this script from the repository root:

    PYTHONPATH=$PWD KERAS_BACKEND=tensorflow \
        python tests/layers/legacy_models/make_legacy_models.py

`tests/layers/test_legacy_models.py` loads them with the current code and
checks the outputs. Running the script again overwrites them with files
written by the current code, which is only useful once the legacy format is
no longer supported.
"""

import json
import os
import zipfile

import keras
import numpy as np

import keras_captioning

HERE = os.path.dirname(os.path.abspath(__file__))
VOCABULARY_SIZE = 13
NUM_TRAIN = int(os.environ.get("NUM_TRAIN", 16))
EPOCHS = int(os.environ.get("EPOCHS", 150))
MODES = ("init_inject", "pre_inject", "par_inject", "merge", "attention")


def deflate(path):
    """Recompresses a `.keras` zip: its HDF5 file shrinks about tenfold."""
    with zipfile.ZipFile(path) as archive:
        members = [(name, archive.read(name)) for name in archive.namelist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)


def decoder_inputs():
    rng = np.random.default_rng(7)
    token_ids = np.array(
        [[1, 5, 9, 4, 2, 0], [1, 7, 2, 0, 0, 0], [1, 3, 11, 12, 6, 2]],
        "int32",
    )
    image_features = rng.standard_normal((3, 4, 5)).astype("float32")
    return token_ids, image_features


def write_decoders(expected):
    """One functional model holding a decoder per mode and cell."""
    token_ids, image_features = decoder_inputs()
    expected["token_ids"] = token_ids
    expected["image_features"] = image_features
    ids_input = keras.Input(shape=(None,), dtype="int32")
    features_input = keras.Input(shape=(4, 5))
    decoders, outputs = {}, {}
    keras.utils.set_random_seed(0)
    for mode in MODES:
        for cell in ("lstm", "gru"):
            name = f"{mode}_{cell}"
            decoders[name] = keras_captioning.layers.CaptionDecoder(
                VOCABULARY_SIZE,
                embedding_dim=4,
                units=5,
                num_layers=2 if cell == "lstm" else 1,
                cell=cell,
                conditioning=mode,
                name=f"decoder_{name}",
            )
            outputs[name] = decoders[name](ids_input, features_input)
    model = keras.Model([ids_input, features_input], outputs)
    model.save(os.path.join(HERE, "decoders.keras"))
    deflate(os.path.join(HERE, "decoders.keras"))
    logits = model.predict([token_ids, image_features], verbose=0)
    for name, decoder in decoders.items():
        state = decoder.get_initial_state(image_features)
        stepped = []
        for position in range(token_ids.shape[1]):
            step_logits, state = decoder.step(token_ids[:, position], state)
            stepped.append(keras.ops.convert_to_numpy(step_logits))
        expected[f"{name}/teacher_forced"] = logits[name]
        expected[f"{name}/stepped"] = np.stack(stepped, axis=1)


def write_captioner():
    images, references = keras_captioning.datasets.shapes.load_data(
        "train", num_images=NUM_TRAIN, image_size=48, seed=0
    )
    captions = [caption for group in references for caption in group[:1]]
    vocabulary = keras_captioning.text.build_vocabulary(captions)
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential(
        [
            keras.layers.Conv2D(16, 6, strides=6, activation="relu"),
        ],
        name="tiny_encoder",
    )
    captioner = keras_captioning.models.ImageCaptioner(
        vocabulary,
        encoder=encoder,
        feature_to_sequence={"units": 12},
        decoder={
            "embedding_dim": 12,
            "units": 16,
            "conditioning": "attention",
        },
        max_length=10,
    )
    captioner.compile(optimizer=keras.optimizers.Adam(0.02))
    captioner.fit(
        images,
        captioner.tokenize(captions),
        epochs=EPOCHS,
        batch_size=16,
        verbose=0,
    )
    # The model learns its few training images by heart, so the captions
    # of the first four differ from each other.
    test_images = images[:4]
    greedy = captioner.caption(test_images, strategy="greedy")
    print("captions:", greedy)
    # A fresh, uncompiled copy keeps the optimizer state out of the file.
    config = captioner.get_config()
    saved = keras_captioning.models.ImageCaptioner.from_config(config)
    saved.build({"images": (None, 48, 48, 3), "token_ids": (None, None)})
    saved.set_weights(captioner.get_weights())
    assert saved.caption(test_images, strategy="greedy") == greedy
    saved.save(os.path.join(HERE, "captioner_attention.keras"))
    deflate(os.path.join(HERE, "captioner_attention.keras"))
    np.savez_compressed(
        os.path.join(HERE, "captioner_images.npz"), images=test_images
    )
    with open(os.path.join(HERE, "captioner_captions.json"), "w") as file:
        json.dump(greedy, file, indent=1)


if __name__ == "__main__":
    expected = {}
    write_decoders(expected)
    np.savez(os.path.join(HERE, "expected_decoder_outputs.npz"), **expected)
    write_captioner()
