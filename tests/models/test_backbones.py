"""The `keras.applications` backbone table and the encoders built from it.

Every test that should hold for every backbone is parametrised from
`BACKBONES`, so a new entry is covered the day it is added. Building every
network takes a few minutes on TensorFlow; JAX and PyTorch build a few cheap
ones that cover the four scalings. Nothing touches the network: ImageNet
weights come from a patched `keras.utils.get_file`.
"""

import csv
import pathlib
import socket
import urllib.error

import keras
import numpy as np
import pytest
from keras.src.utils import file_utils

from keras_captioning.layers import FeatureToSequence
from keras_captioning.layers import ImagePreprocessing
from keras_captioning.models import ImageCaptioner
from keras_captioning.models import backbones
from keras_captioning.models._encoders import build_encoder
from keras_captioning.models.backbones import BACKBONES
from tests.models.conftest import VOCABULARY

DOCS_PAGE = pathlib.Path(__file__).parents[2] / "docs" / "backbones.rst"
# Built on JAX and PyTorch too: `caffe` scaling outside the network and
# `none` (rescaling inside it). Eager calls are slow on JAX (each new op
# shape compiles), so the other families are built on TensorFlow only.
OTHER_BACKENDS = ("vgg16", "mobilenet_v3_small")
ON_TENSORFLOW_ONLY = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="backend-independent logic; building is slow on this backend",
)
# The slowest to build and run (4 to 35 s each on a busy 2-core machine),
# each the larger sibling of a network built by default; `--run_large`
# builds them too.
BIG = (
    "resnet101",
    "resnet152",
    "resnet101_v2",
    "resnet152_v2",
    "densenet169",
    "densenet201",
    "efficientnet_b2",
    "efficientnet_b3",
    "efficientnet_b4",
    "efficientnet_v2_b3",
    "convnext_small",
    "nasnet_mobile",
    "nasnet_large",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "efficientnet_v2_s",
    "efficientnet_v2_m",
    "efficientnet_v2_l",
    "convnext_base",
    "convnext_large",
    "convnext_xlarge",
)


def _built_by_default():
    """The first network of each scaling family that is not in BIG: the
    input scaling is what differs between families as the captioner sees
    them (the scaling test compares every family with its
    `preprocess_input`)."""
    first = {}
    for name, backbone in BACKBONES.items():
        if name not in BIG:
            first.setdefault(backbone.scaling, name)
    return set(first.values())


def _names_for_this_backend():
    if keras.backend.backend() == "tensorflow":
        by_default = _built_by_default()
        return [
            name
            if name in by_default
            else pytest.param(name, marks=pytest.mark.large)
            for name in BACKBONES
        ]
    return list(OTHER_BACKENDS)


def _preprocess_input(backbone):
    # `keras.applications.resnet.ResNet101` -> `keras.applications.resnet`.
    module = backbone.constructor.__module__.rsplit(".", 1)[-1]
    return getattr(keras.applications, module).preprocess_input


def _docs_rows():
    # The rows of the page's csv-table: indented, starting with a name.
    lines = [
        line.strip()
        for line in DOCS_PAGE.read_text().splitlines()
        if line.startswith("   ``")
    ]
    rows = {}
    for row in csv.reader(lines, skipinitialspace=True):
        cells = [cell.strip().strip("`") for cell in row]
        rows[cells[0]] = cells
    return rows


def _scales_inside(encoder):
    return any(
        isinstance(layer, (keras.layers.Rescaling, keras.layers.Normalization))
        for layer in encoder.layers
    )


def test_table_lists_every_keras_application():
    constructors = {
        obj
        for name, obj in vars(keras.applications).items()
        if name[:1].isupper() and callable(obj)
    }
    in_table = {backbone.constructor for backbone in BACKBONES.values()}
    missing = sorted(c.__name__ for c in constructors - in_table)
    assert not missing, (
        f"keras.applications networks not in BACKBONES: {missing}"
    )
    assert backbones.available_encoders() == ("simple_cnn", *BACKBONES)
    for name, backbone in BACKBONES.items():
        assert name == backbone.name and name == name.lower()
        assert backbone.scaling in ("caffe", "symmetric", "torch", "none")
        assert backbone.min_size <= backbone.default_size


def test_docs_page_describes_every_backbone():
    rows = _docs_rows()
    assert sorted(rows) == sorted(BACKBONES)
    for name, backbone in BACKBONES.items():
        _, constructor, scaling, default_size, min_size, feature_map, _ = rows[
            name
        ]
        assert constructor == backbone.constructor.__name__
        assert scaling == backbone.scaling
        assert int(default_size) == backbone.default_size
        assert int(min_size) == backbone.min_size
        assert feature_map.endswith(f" x {backbone.feature_channels}")


@pytest.mark.parametrize(
    "name",
    [name for name, b in BACKBONES.items() if b.scaling != "none"],
)
def test_scaling_matches_the_family_preprocess_input(name):
    backbone = BACKBONES[name]
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (2, 5, 7, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(
        _preprocess_input(backbone)(pixels.copy())
    )
    outputs = ImagePreprocessing(scaling=backbone.scaling)(
        pixels.astype("uint8")
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(outputs), expected, rtol=1e-5, atol=1e-4
    )


@pytest.mark.parametrize("name", _names_for_this_backend())
def test_backbone_builds_and_hands_its_feature_map_on(name):
    backbone = BACKBONES[name]
    size = backbone.min_size
    encoder, scaling, image_size = build_encoder(name, (size, size), None)
    assert scaling == backbone.scaling
    assert image_size == (size, size)
    # The "none" families rescale inside the Keras model (and expect
    # [0, 255] pixels); the others must not, or pixels are scaled twice.
    assert _scales_inside(encoder) == (scaling == "none")
    assert tuple(encoder.output.shape)[-1] == backbone.feature_channels
    row = _docs_rows()[name]
    assert f"{encoder.count_params():,}" == row[6]

    images = np.random.default_rng(0).integers(0, 256, (1, size, size, 3))
    features = encoder(ImagePreprocessing(scaling=scaling)(images))
    rows, columns, channels = tuple(features.shape)[1:]
    assert rows >= 1 and columns >= 1
    assert channels == backbone.feature_channels
    assert np.isfinite(keras.ops.convert_to_numpy(features)).all()
    sequence = FeatureToSequence()(features)
    assert tuple(sequence.shape) == (1, rows * columns, channels)


@pytest.mark.parametrize(
    "name",
    ["vgg16", pytest.param("mobilenet_v3_small", marks=ON_TENSORFLOW_ONLY)],
)
def test_captioner_runs_on_a_named_backbone(name):
    captioner = ImageCaptioner(
        VOCABULARY,
        encoder=name,
        image_size=(64, 64),
        feature_to_sequence={"units": 8},
        decoder={"embedding_dim": 8, "units": 8, "conditioning": "attention"},
        max_length=4,
    )
    assert captioner.preprocessing.scaling == BACKBONES[name].scaling
    images = np.zeros((2, 80, 70, 3), "uint8")  # resized inside the model
    token_ids = captioner.tokenize(["a red square", "a circle"])
    logits = captioner({"images": images, "token_ids": token_ids[:, :-1]})
    assert tuple(logits.shape) == (2, 5, len(captioner.vocabulary))


@ON_TENSORFLOW_ONLY
def test_default_image_size_is_the_backbone_size():
    _, _, image_size = build_encoder("efficientnet_v2_b1", None, None)
    assert image_size == (240, 240)


@pytest.mark.parametrize(
    "name",
    [
        "convnext_tiny",
        pytest.param("inception_resnet_v2", marks=pytest.mark.large),
    ],
)
@ON_TENSORFLOW_ONLY
def test_networks_with_keras_custom_layers_load_in_safe_mode(name):
    # ConvNeXt (LayerScale, StochasticDepth) and InceptionResNetV2
    # (CustomScaleLayer) use layers of their own, but no Lambda layer.
    encoder, _, _ = build_encoder(name, (75, 75), None)
    config = keras.saving.serialize_keras_object(encoder)
    restored = keras.saving.deserialize_keras_object(config, safe_mode=True)
    restored.set_weights(encoder.get_weights())
    images = np.random.default_rng(0).uniform(-1, 1, (1, 75, 75, 3))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(restored(images)),
        keras.ops.convert_to_numpy(encoder(images)),
        atol=1e-5,
    )


# ------------------------------------------------------------------ weights


def _fake_download(monkeypatch, weights_path, calls):
    """`keras.utils.get_file` as the applications call it, offline."""

    def get_file(fname=None, origin=None, cache_subdir="datasets", **kwargs):
        calls.append((fname, origin, cache_subdir))
        return weights_path

    monkeypatch.setattr(file_utils, "get_file", get_file)


@pytest.mark.parametrize("name", ["vgg16", "mobilenet_v3_small"])
def test_imagenet_weights_come_through_keras_get_file(
    name, tmp_path, monkeypatch
):
    backbone = BACKBONES[name]
    keras.utils.set_random_seed(1)
    reference = backbone.build(weights=None)
    path = str(tmp_path / f"{name}_notop.weights.h5")
    reference.save_weights(path)
    calls = []
    _fake_download(monkeypatch, path, calls)
    keras.utils.set_random_seed(2)
    encoder, _, _ = build_encoder(name, None, "imagenet")
    [(fname, origin, cache_subdir)] = calls
    assert cache_subdir == "models"
    assert "top" in fname and origin.endswith(fname)
    for loaded, saved in zip(encoder.weights, reference.weights):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(loaded),
            keras.ops.convert_to_numpy(saved),
        )


def test_local_weights_file_still_loads(tmp_path):
    keras.utils.set_random_seed(1)
    reference = BACKBONES["vgg16"].build((32, 32))
    path = tmp_path / "vgg16.weights.h5"
    reference.save_weights(str(path))
    encoder, _, _ = build_encoder("vgg16", (32, 32), path)  # a PathLike
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(encoder.weights[0]),
        keras.ops.convert_to_numpy(reference.weights[0]),
    )


def test_offline_error_names_the_file_the_cache_and_the_fix(
    tmp_path, monkeypatch
):
    # The real `get_file`, with only the URL fetch failing as it does
    # without a network (and an empty cache folder).
    real_get_file = file_utils.get_file

    def offline_urlretrieve(url, *args, **kwargs):
        raise urllib.error.URLError(
            socket.gaierror(-2, "Name or service not known")
        )

    def get_file(*args, **kwargs):
        return real_get_file(*args, **{**kwargs, "cache_dir": str(tmp_path)})

    monkeypatch.setattr(file_utils, "urlretrieve", offline_urlretrieve)
    monkeypatch.setattr(file_utils, "get_file", get_file)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    with pytest.raises(OSError) as info:
        build_encoder("vgg16", (32, 32), "imagenet")
    message = str(info.value)
    file_name = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    cache_dir = str(tmp_path / "keras_home" / "models")
    assert backbones.keras_cache_dir() == cache_dir
    assert f"'vgg16' encoder ({file_name})" in message
    assert f"not in the Keras cache, {cache_dir}" in message
    assert "Name or service not known" in message
    assert f"/{file_name} on a machine that has one" in message
    assert f"copy it into {cache_dir}" in message
    assert "`encoder_weights`" in message


def test_other_errors_while_loading_imagenet_weights_propagate(
    tmp_path, monkeypatch
):
    def get_file(*args, **kwargs):
        raise ValueError("Incomplete or corrupted file detected.")

    monkeypatch.setattr(file_utils, "get_file", get_file)
    with pytest.raises(ValueError, match="corrupted"):
        build_encoder("vgg16", (32, 32), "imagenet")


# --------------------------------------------------------------- validation


def test_unknown_name_lists_the_names_and_suggests_the_closest():
    with pytest.raises(ValueError) as info:
        build_encoder("resnet_101", None, None)
    message = str(info.value)
    assert "Received: encoder='resnet_101'" in message
    assert "'simple_cnn'" in message and "'nasnet_large'" in message
    assert "Did you mean 'resnet101'" in message
    with pytest.raises(ValueError, match="Keras layer or model"):
        build_encoder(3, None, None)


@pytest.mark.parametrize(
    "name, image_size, message",
    [
        ("inception_v3", (74, 200), "at least 75x75 for the 'inception_v3'"),
        ("xception", (64, 64), "at least 71x71"),
        ("vgg16", (32,), "pair of integers"),
        ("vgg16", (32.0, 32), "must be an integer"),
    ],
)
def test_image_size_is_checked_against_the_backbone(name, image_size, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build_encoder(name, image_size, None)


@pytest.mark.parametrize(
    "weights, error, message",
    [
        ("/no/such/weights.h5", ValueError, "does not exist"),
        (3, TypeError, "encoder_weights"),
    ],
)
def test_bad_weights_are_rejected(weights, error, message):
    with pytest.raises(error, match=message):
        build_encoder("vgg16", (32, 32), weights)


def test_simple_cnn_takes_no_pretrained_weights():
    encoder, scaling, image_size = build_encoder("simple_cnn", None, None)
    assert scaling == "unit" and image_size is None
    with pytest.raises(ValueError, match="trained from scratch"):
        build_encoder("simple_cnn", None, "imagenet")
