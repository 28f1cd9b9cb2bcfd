"""`ImageCaptionerPreprocessor`: what `caption`, `generate` and `fit` take."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from PIL import Image

import keras_captioning
from keras_captioning.models import ImageCaptionerPreprocessor
from keras_captioning.text import CaptionTokenizer

pytestmark = pytest.mark.backend_independent

LEGACY = pathlib.Path(__file__).parents[1] / "layers" / "legacy_models"
# Sizes the legacy captioner's 48x48 input is reached from by shrinking.
FILE_SIZES = [(96, 96), (96, 144), (96, 192), (120, 120)]


def small_captioner(**kwargs):
    options = {
        "decoder": {"embedding_dim": 8, "units": 8},
        "feature_to_sequence": {"units": 8},
        "max_length": 4,
    }
    options.update(kwargs)
    return keras_captioning.models.ImageCaptioner(
        ["a", "red", "blue", "circle", "square"], **options
    )


@pytest.fixture(scope="module")
def legacy_captioner():
    return keras.saving.load_model(str(LEGACY / "captioner_attention.keras"))


@pytest.fixture(scope="module")
def photo_files(tmp_path_factory):
    """The legacy images enlarged to several sizes, with noise, as PNGs."""
    images = np.load(LEGACY / "captioner_images.npz")["images"]
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    paths = []
    for index, (image, size) in enumerate(zip(images, FILE_SIZES)):
        big = np.asarray(
            Image.fromarray(image).resize(size[::-1], Image.Resampling.NEAREST)
        ).astype("int32")
        big = np.clip(big + rng.integers(-20, 21, big.shape), 0, 255)
        path = folder / f"photo_{index}.png"
        Image.fromarray(big.astype("uint8")).save(path)
        paths.append(path)
    return paths


def test_the_captioner_owns_a_preprocessor():
    captioner = small_captioner(image_size=(32, 32))
    preprocessor = captioner.preprocessor
    assert isinstance(preprocessor, ImageCaptionerPreprocessor)
    assert captioner.tokenizer is preprocessor.tokenizer
    assert captioner.vocabulary == preprocessor.vocabulary
    assert preprocessor.target_size == (32, 32)
    ids = captioner.tokenize(["a red circle"])
    assert ids.tolist() == preprocessor.tokenize(["a red circle"]).tolist()
    assert captioner.detokenize(ids[:, 1:]) == ["a red circle"]


def test_config_round_trip():
    tokenizer = CaptionTokenizer(["a", "dog"], max_length=3)
    preprocessor = ImageCaptionerPreprocessor(tokenizer, image_size=(8, 9))
    config = json.loads(json.dumps(preprocessor.get_config()))
    restored = ImageCaptionerPreprocessor.from_config(config)
    assert restored.get_config() == preprocessor.get_config()
    assert restored.vocabulary == tokenizer.vocabulary
    assert restored.target_size == (8, 9)
    serialized = keras.saving.serialize_keras_object(preprocessor)
    again = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(again, ImageCaptionerPreprocessor)
    assert again.get_config() == preprocessor.get_config()


def test_built_size_is_the_target_without_an_image_size():
    captioner = small_captioner()
    assert captioner.preprocessor.target_size is None
    captioner.build({"images": (None, 24, 20, 3), "token_ids": (None, None)})
    assert captioner.preprocessor.target_size == (24, 20)


def test_lists_of_differently_sized_arrays_caption_like_resized_arrays():
    captioner = small_captioner(image_size=(32, 32))
    rng = np.random.default_rng(1)
    images = [
        rng.integers(0, 256, size, dtype="uint8")
        for size in [(50, 70, 3), (32, 32, 3), (90, 40, 3)]
    ]
    resized = np.stack(
        [captioner.preprocessor.resize_image(image) for image in images]
    )
    assert resized.shape == (3, 32, 32, 3)
    # The image already at the size is not touched.
    np.testing.assert_array_equal(resized[1], images[1])
    expected = captioner.generate(resized, return_scores=True)
    got = captioner.generate(images, return_scores=True)
    np.testing.assert_array_equal(got["token_ids"], expected["token_ids"])
    np.testing.assert_allclose(got["scores"], expected["scores"], rtol=1e-5)
    assert len(captioner.caption(images)) == 3


def test_resize_is_pillow_bilinear_as_the_data_pipelines():
    preprocessor = small_captioner(image_size=(30, 40)).preprocessor
    image = np.random.default_rng(2).integers(0, 256, (77, 53, 3), "uint8")
    np.testing.assert_array_equal(
        preprocessor.resize_image(image),
        keras_captioning.data.resize_image(image, (30, 40)),
    )
    floats = preprocessor.resize_image(image.astype("float32"))
    assert floats.dtype == np.float32 and floats.shape == (30, 40, 3)
    assert np.abs(floats - preprocessor.resize_image(image)).max() <= 1.0


def test_paths_arrays_and_the_command_give_the_same_captions(
    legacy_captioner, photo_files
):
    from keras_captioning.cli import _common
    from keras_captioning.cli.caption import caption_files

    pixels = [keras_captioning.data.read_image(path) for path in photo_files]
    from_paths = legacy_captioner.caption(photo_files)
    from_strings = legacy_captioner.caption([str(p) for p in photo_files])
    from_arrays = legacy_captioner.caption(pixels)
    # The captions are not all alike: the test could tell routes apart.
    assert len(set(from_paths)) >= 2
    assert from_paths == from_strings == from_arrays
    # One file on its own, as a single path.
    assert legacy_captioner.caption(photo_files[0]) == from_paths[:1]
    # The command's code path: its reader and its batching.
    image_size = _common.model_image_size(legacy_captioner)
    assert image_size == legacy_captioner.preprocessor.target_size
    results, failures = caption_files(
        legacy_captioner, [str(p) for p in photo_files], image_size, {}, 2, True
    )
    assert not failures
    assert [caption for _, caption, _ in results] == from_paths
    # The command's pixels are the preprocessor's pixels.
    for path, image in zip(photo_files, pixels):
        np.testing.assert_array_equal(
            keras_captioning.data.read_image(str(path), image_size),
            legacy_captioner.preprocessor.resize_image(image),
        )


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="SavedModel export"
)
def test_the_saved_model_captions_files_as_caption_does(
    legacy_captioner, photo_files, tmp_path
):
    import tensorflow as tf

    from keras_captioning.export._saved_model import resize_like_pillow

    for path in photo_files:
        image = keras_captioning.data.read_image(path)
        np.testing.assert_array_equal(
            resize_like_pillow(tf.constant(image), (48, 48)).numpy(),
            legacy_captioner.preprocessor.resize_image(image),
        )
    legacy_captioner.export(str(tmp_path / "served"))
    served = tf.saved_model.load(str(tmp_path / "served"))
    encoded = tf.constant([pathlib.Path(p).read_bytes() for p in photo_files])
    captions = served.serve_bytes(encoded)["captions"].numpy()
    assert [c.decode() for c in captions] == legacy_captioner.caption(
        photo_files
    )


def test_fit_takes_lists_and_paths(photo_files):
    captioner = small_captioner(image_size=(32, 32))
    captioner.compile(run_eagerly=True)  # the data forms, not the step
    token_ids = captioner.tokenize(["a red circle"] * len(photo_files))
    history = captioner.fit(
        [str(path) for path in photo_files], token_ids, epochs=1, verbose=0
    )
    assert np.isfinite(history.history["loss"][0])
    arrays = [keras_captioning.data.read_image(path) for path in photo_files]
    results = captioner.evaluate(arrays, token_ids, verbose=0)
    assert np.isfinite(results).all()


@pytest.mark.parametrize(
    "images, error, message",
    [
        ([], ValueError, "`images` is an empty list"),
        (np.zeros((0, 8, 8, 3), "uint8"), ValueError, "empty batch"),
        (np.zeros((8, 8, 3), "uint8"), ValueError, "Received an array of"),
        ([np.zeros((8, 8), "uint8")], ValueError, r"`images\[0\]` must be"),
        (
            [np.zeros((8, 8, 3), "uint8"), np.zeros((8, 8, 3), "int64")],
            TypeError,
            r"`images\[1\]` must be uint8 or float",
        ),
        ([np.zeros((8, 8, 3)), 7], ValueError, r"`images\[1\]` must be"),
        ({"a": 1}, TypeError, "`images` must be an array, a tensor"),
    ],
)
def test_bad_inputs_name_the_argument(images, error, message):
    captioner = small_captioner(image_size=(16, 16))
    with pytest.raises(error, match=message):
        captioner.caption(images)


def test_a_missing_file_names_the_file(tmp_path):
    captioner = small_captioner(image_size=(16, 16))
    missing = tmp_path / "missing.png"
    with pytest.raises(keras_captioning.data.ImageFileError) as info:
        captioner.caption([missing])
    assert str(missing) in str(info.value)
    assert "\n" not in str(info.value)


def test_different_sizes_without_an_image_size_are_refused():
    captioner = small_captioner()  # simple_cnn, not built: no size to use
    images = [np.zeros((16, 16, 3), "uint8"), np.zeros((20, 16, 3), "uint8")]
    with pytest.raises(ValueError, match="different sizes.*image_size"):
        captioner.caption(images)


def test_features_models_refuse_paths_and_images():
    captioner = keras_captioning.models.ImageCaptioner(
        ["a", "b"],
        encoder=None,
        decoder={"embedding_dim": 4, "units": 4},
        feature_to_sequence={"units": 4},
        max_length=3,
    )
    features = np.zeros((2, 5, 6), "float32")
    assert captioner.generate(features).shape == (2, 4)
    with pytest.raises(TypeError, match="float features"):
        captioner.generate(np.zeros((2, 5, 6), "uint8"))
    with pytest.raises(ValueError, match="rank 3"):
        captioner.generate(np.zeros((2, 5, 6, 1), "float32"))


MEMORY_SCRIPT = textwrap.dedent(
    """
    import resource, sys, time
    import numpy as np
    from PIL import Image
    import keras_captioning

    captioner = keras_captioning.models.ImageCaptioner(
        ["a", "red", "circle"], max_length=4, image_size=(64, 64),
        decoder={"embedding_dim": 8, "units": 8},
        feature_to_sequence={"units": 8},
    )
    captioner.caption(np.zeros((1, 64, 64, 3), "uint8"))  # compile first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    photo = np.random.default_rng(0).integers(
        0, 256, (4000, 6000, 3), dtype="uint8"
    )
    if sys.argv[1] == "file":
        Image.fromarray(photo).save(sys.argv[2])
        photo = None
        images = [sys.argv[2]]
    else:
        images = photo[None]
    start = time.perf_counter()
    captions = captioner.caption(images)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("RESULT", len(captions), before // 1024, after // 1024, seconds)
    """
)


# The preprocessor reads and resizes each photo with Pillow on the host,
# before any backend sees it: the memory bound is the same on every backend.
# A memory test: the large tier (a file, and an array: the same resize,
# without the decoding).
@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("array", marks=pytest.mark.large),
        pytest.param("file", marks=pytest.mark.large),
    ],
)
def test_a_6000_by_4000_photo_captions_in_bounded_memory(kind, tmp_path):
    environment = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, kind, str(tmp_path / "b.png")],
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
        cwd=pathlib.Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = [
        row for row in result.stdout.splitlines() if row.startswith("RESULT")
    ]
    _, count, before_mb, after_mb, _ = line[-1].split()
    assert int(count) == 1
    # The photo itself is 72 MB of uint8; before the preprocessor resized
    # each image, the model's float copy and its resize took 19.5 GB.
    assert int(after_mb) - int(before_mb) < 1024, (before_mb, after_mb)


def test_the_preprocessor_returns_x_y_and_sample_weight():
    """KerasHub's contract: images and captions in, `(x, y, sample_weight)`
    out, the shift of teacher forcing done once."""
    captioner = small_captioner(image_size=(16, 16))
    preprocessor = captioner.preprocessor
    images = [np.zeros((20, 30, 3), "uint8"), np.zeros((16, 16, 3), "uint8")]
    x, y, sample_weight = preprocessor(images, ["a red circle", "a square"])
    token_ids = captioner.tokenize(["a red circle", "a square"])
    assert x["images"].shape == (2, 16, 16, 3)
    np.testing.assert_array_equal(x["token_ids"], token_ids[:, :-1])
    np.testing.assert_array_equal(y, token_ids[:, 1:])
    np.testing.assert_array_equal(sample_weight, (y != 0).astype("float32"))
    # Token ids give the same, and a given weight is kept.
    _, again, weights = preprocessor(images, token_ids, np.ones(2))
    np.testing.assert_array_equal(again, y)
    np.testing.assert_array_equal(weights, np.ones(2))
    with pytest.raises(ValueError, match="same number"):
        preprocessor(images, token_ids[:1])


def test_fit_takes_caption_strings_and_their_loss_is_that_of_token_ids():
    captioner = small_captioner()
    # The data forms, not the step: run eagerly.
    captioner.compile(optimizer=keras.optimizers.SGD(0.0), run_eagerly=True)
    images = np.zeros((2, 16, 16, 3), "uint8")
    captions = ["a red circle", "a blue square"]
    from_ids = captioner.evaluate(
        images, captioner.tokenize(captions), verbose=0, return_dict=True
    )
    from_text = captioner.evaluate(
        images, captions, verbose=0, return_dict=True
    )
    assert from_text["loss"] == pytest.approx(from_ids["loss"])
    history = captioner.fit(images, captions, verbose=0)
    assert np.isfinite(history.history["loss"][0])
