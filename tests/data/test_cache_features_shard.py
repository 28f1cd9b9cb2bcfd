"""`cache_features` per process: shards of the images, and odd file names."""

import os
import sys

import keras
import numpy as np
import pytest

from keras_captioning.data import cache_features
from tests.data.caption_data_helpers import write_image


def numbered_images(count):
    # Image `i` is filled with `i`, so its pooled feature names the image.
    return np.stack(
        [np.full((4, 4, 3), index, "uint8") for index in range(count)]
    )


def image_numbers(features):
    return np.asarray(features)[:, 0].round().astype(int).tolist()


@pytest.mark.parametrize("kind", ["array", "files"])
def test_two_shards_partition_the_images(tmp_path, kind):
    images = numbered_images(7)
    if kind == "files":
        images = [
            write_image(tmp_path / f"{index}.png", image)
            for index, image in enumerate(images)
        ]
    encoder = keras.layers.GlobalAveragePooling2D()
    cache_dir = tmp_path / "cache"
    shards = [
        image_numbers(
            cache_features(
                encoder,
                images,
                cache_dir,
                batch_size=2,
                verbose=0,
                num_shards=2,
                shard_index=index,
            )
        )
        for index in range(2)
    ]
    # Cut to a multiple of 2 (image 6 is skipped, as `make_dataset` skips
    # up to `num_shards - 1` rows), then every other image.
    assert shards == [[0, 2, 4], [1, 3, 5]]
    # Each shard has its own key: both caches are complete side by side.
    assert len([name for name in os.listdir(cache_dir)]) == 4
    again = cache_features(
        encoder, images, cache_dir, verbose=0, num_shards=2, shard_index=1
    )
    assert image_numbers(again) == [1, 3, 5]


def test_defaults_to_one_shard_outside_a_multi_process_job(tmp_path):
    features = cache_features(
        keras.layers.GlobalAveragePooling2D(),
        numbered_images(3),
        tmp_path,
        verbose=0,
    )
    assert image_numbers(features) == [0, 1, 2]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"num_shards": 2}, ValueError, "shard_index=None"),
        ({"num_shards": 0, "shard_index": 0}, ValueError, "num_shards=0"),
        ({"num_shards": 2, "shard_index": 2}, ValueError, "shard_index=2"),
        ({"num_shards": 4, "shard_index": 0}, ValueError, "fewer than"),
    ],
)
def test_shard_validation(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        cache_features(
            keras.layers.GlobalAveragePooling2D(),
            numbered_images(3),
            tmp_path,
            verbose=0,
            **kwargs,
        )


@pytest.mark.skipif(
    sys.platform == "win32" or sys.getfilesystemencoding() != "utf-8",
    reason="file names as arbitrary bytes need a POSIX file system",
)
def test_a_file_name_that_is_not_utf8(tmp_path):
    # Python holds the byte 0xff of such a name as the surrogate "\udcff",
    # which `str.encode()` refuses.
    odd = os.fsdecode(os.fsencode(str(tmp_path)) + b"/image-\xff.png")
    plain = str(tmp_path / "image.png")
    try:
        write_image(odd, numbered_images(2)[1])
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    write_image(plain, numbered_images(2)[1])
    encoder = keras.layers.GlobalAveragePooling2D()
    cache_dir = tmp_path / "cache"
    features = cache_features(encoder, [odd, plain], cache_dir, verbose=0)
    assert image_numbers(features) == [1, 1]
    again = cache_features(encoder, [odd, plain], cache_dir, verbose=0)
    np.testing.assert_array_equal(again, features)
    # Another name, same pixels: another key.
    cache_features(encoder, [plain, odd], cache_dir, verbose=0)
    assert len(os.listdir(cache_dir)) == 4
