import json
import os

import keras
import numpy as np
import pytest

from keras_captioning.data import cache_features
from tests.data.caption_data_helpers import gradient_image
from tests.data.caption_data_helpers import write_image


def make_encoder():
    inputs = keras.Input((6, 5, 3), dtype="uint8")
    features = keras.layers.Rescaling(1 / 255)(inputs)
    features = keras.layers.Conv2D(4, 3, name=None)(features)
    outputs = keras.layers.GlobalAveragePooling2D()(features)
    return keras.Model(inputs, outputs)


def count_calls(monkeypatch, encoder):
    calls = []
    predict_on_batch = encoder.predict_on_batch

    def counted(batch):
        calls.append(len(batch))
        return predict_on_batch(batch)

    monkeypatch.setattr(encoder, "predict_on_batch", counted)
    return calls


def cache_files(cache_dir):
    return sorted(os.listdir(cache_dir))


@pytest.fixture
def images():
    return np.stack([gradient_image(6, 5, seed) for seed in range(5)])


def test_computes_then_reuses(tmp_path, images, monkeypatch):
    encoder = make_encoder()
    calls = count_calls(monkeypatch, encoder)
    features = cache_features(
        encoder, images, tmp_path, batch_size=2, verbose=0
    )
    assert calls == [2, 2, 1]
    np.testing.assert_allclose(
        features, encoder.predict(images, verbose=0), rtol=1e-5, atol=1e-6
    )
    files = cache_files(tmp_path)
    assert len(files) == 2
    key = files[0].removeprefix("features-").removesuffix(".json")
    assert files == [f"features-{key}.json", f"features-{key}.npy"]
    with open(tmp_path / files[0]) as file:
        record = json.load(file)
    assert record["key"] == key
    assert record["features"] == {"shape": [5, 4], "dtype": "float32"}
    assert record["images"]["kind"] == "array"

    again = cache_features(encoder, images, tmp_path, batch_size=3, verbose=0)
    assert calls == [2, 2, 1], "the cache was not reused"
    np.testing.assert_array_equal(again, features)
    assert cache_files(tmp_path) == files


def test_a_rebuilt_identical_encoder_hits_the_cache(tmp_path, images):
    encoder = make_encoder()
    cache_features(encoder, images, tmp_path, verbose=0)
    # A second model gets other automatic layer names (`conv2d_1`...).
    twin = make_encoder()
    twin.set_weights(encoder.get_weights())
    assert twin.layers[2].name != encoder.layers[2].name
    cache_features(twin, images, tmp_path, verbose=0)
    assert len(cache_files(tmp_path)) == 2


def test_any_change_gives_a_new_key(tmp_path, images, monkeypatch):
    encoder = make_encoder()
    calls = count_calls(monkeypatch, encoder)
    first = cache_features(encoder, images, tmp_path, verbose=0)
    assert len(calls) == 1

    kernel = encoder.layers[2].kernel
    kernel.assign(kernel + 0.5)
    changed = cache_features(encoder, images, tmp_path, verbose=0)
    assert len(calls) == 2 and len(cache_files(tmp_path)) == 4
    assert not np.allclose(changed, first)

    other_images = images.copy()
    other_images[3, 0, 0, 0] ^= 1
    cache_features(encoder, other_images, tmp_path, verbose=0)
    assert len(calls) == 3 and len(cache_files(tmp_path)) == 6

    resized = cache_features(
        make_encoder_for((4, 4)), images, tmp_path, image_size=(4, 4), verbose=0
    )
    assert resized.shape == (5, 4) and len(cache_files(tmp_path)) == 8


def make_encoder_for(image_size):
    inputs = keras.Input((*image_size, 3), dtype="uint8")
    features = keras.layers.Rescaling(1 / 255)(inputs)
    features = keras.layers.Conv2D(4, 3)(features)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(features))


def test_files_are_keyed_by_path_size_and_time(tmp_path, monkeypatch):
    image_dir = tmp_path / "images"
    image_dir.mkdir()
    paths = [
        write_image(image_dir / f"{i}.png", gradient_image(6, 5, i))
        for i in range(3)
    ]
    cache_dir = tmp_path / "cache"
    encoder = make_encoder()
    calls = count_calls(monkeypatch, encoder)
    features = cache_features(encoder, paths, cache_dir, verbose=0)
    array = np.stack([gradient_image(6, 5, i) for i in range(3)])
    np.testing.assert_allclose(
        features, encoder.predict(array, verbose=0), rtol=1e-5, atol=1e-6
    )
    cache_features(encoder, paths, cache_dir, verbose=0)
    assert len(calls) == 1

    stat = os.stat(paths[1])
    os.utime(paths[1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    cache_features(encoder, paths, cache_dir, verbose=0)
    assert len(calls) == 2


def test_layer_encoder_and_memory_map(tmp_path, images):
    layer = keras.layers.GlobalAveragePooling2D()
    features = cache_features(
        layer, images.astype("uint8"), tmp_path, mmap_mode="r", verbose=0
    )
    assert isinstance(features, np.memmap)
    np.testing.assert_allclose(features, images.mean(axis=(1, 2)), rtol=1e-5)


def test_progress_bar_and_reuse_message(tmp_path, images, capsys):
    encoder = make_encoder()
    cache_features(encoder, images, tmp_path, batch_size=2, verbose=1)
    assert "5/5" in capsys.readouterr().out
    cache_features(encoder, images, tmp_path, verbose=1)
    assert "Loaded cached features (5, 4)" in capsys.readouterr().out


def test_a_failed_run_leaves_no_cache_and_the_next_resumes(
    tmp_path, images, monkeypatch
):
    encoder = make_encoder()
    predict_on_batch = encoder.predict_on_batch
    calls = []

    def failing(batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise RuntimeError("interrupted")
        return predict_on_batch(batch)

    monkeypatch.setattr(encoder, "predict_on_batch", failing)
    with pytest.raises(RuntimeError, match="interrupted"):
        cache_features(encoder, images, tmp_path, batch_size=2, verbose=0)
    # No cache, only the hidden rows of the finished batch and their count.
    assert not [name for name in cache_files(tmp_path) if name[0] != "."]
    features = cache_features(
        encoder, images, tmp_path, batch_size=2, verbose=0
    )
    # The batch that failed runs again; the first one does not.
    assert calls == [2, 2, 2, 1]
    np.testing.assert_allclose(
        features, encoder.predict(images, verbose=0), rtol=1e-5, atol=1e-6
    )
    assert len(cache_files(tmp_path)) == 2


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"encoder": lambda x: x}, TypeError, "`encoder` must be a"),
        ({"batch_size": 0}, ValueError, "batch_size=0"),
        ({"verbose": 2}, ValueError, "verbose=2"),
        ({"cache_dir": 3}, TypeError, "cache_dir=3"),
        ({"image_size": (4,)}, ValueError, r"image_size=\(4,\)"),
        ({"images": np.zeros((2, 6, 5, 3))}, TypeError, "uint8"),
    ],
)
def test_validation(tmp_path, images, kwargs, error, match):
    arguments = {
        "encoder": keras.layers.GlobalAveragePooling2D(),
        "images": images,
        "cache_dir": tmp_path,
        "verbose": 0,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        cache_features(**arguments)


@pytest.mark.parametrize(
    "function, match",
    [
        (lambda x: keras.ops.sum(keras.ops.cast(x, "float32")), "one row"),
        (lambda x: keras.ops.cast(x, "float32")[:1], r"shape \(1, 6, 5, 3\)"),
        (lambda x: [x, x], "a single tensor"),
    ],
)
def test_encoder_must_return_one_row_per_image(
    tmp_path, images, function, match
):
    encoder = keras.layers.Lambda(function)
    with pytest.raises(ValueError, match=match):
        cache_features(encoder, images, tmp_path, verbose=0)
    assert cache_files(tmp_path) == []
