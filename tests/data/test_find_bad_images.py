import os

import numpy as np
import pytest
from PIL import Image

import keras_captioning
from keras_captioning.data import find_bad_images


@pytest.fixture
def folder(tmp_path):
    Image.fromarray(np.zeros((6, 8, 3), "uint8")).save(tmp_path / "good.jpg")
    Image.fromarray(np.zeros((6, 8), "uint8")).save(tmp_path / "grey.png")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("photos from the trip")
    (tmp_path / "page.jpg").write_text("<html>404 Not Found</html>")
    (tmp_path / "sub").mkdir()
    noise = np.random.default_rng(0).integers(0, 255, (200, 200, 3))
    Image.fromarray(noise.astype("uint8")).save(tmp_path / "noise.jpg")
    good = (tmp_path / "noise.jpg").read_bytes()
    # A PNG whose header is sound and whose chunks are cut short.
    png = (tmp_path / "grey.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(png[: len(png) // 2])
    # A JPEG cut after its header: only a full decode notices.
    (tmp_path / "cut.jpg").write_bytes(good[: len(good) // 2])
    return tmp_path


@pytest.mark.parametrize("decode", [False, True])
def test_bad_files_are_found_with_their_reasons(folder, decode):
    names = [
        "good.jpg",
        "empty.jpg",
        "notes.txt",
        "grey.png",
        "gone.jpg",
        "page.jpg",
        "sub",
        "good.jpg",
        "cut.png",
    ]
    bad = find_bad_images([str(folder / name) for name in names], decode)
    found = {os.path.basename(path): reason for path, reason in bad.items()}
    expected = {
        "empty.jpg": "the file is empty",
        "notes.txt": "not an image format Pillow recognises",
        "gone.jpg": "no such file",
        "page.jpg": "not an image format Pillow recognises",
        "sub": "it is a directory, not a file",
    }
    assert {name: found[name] for name in expected} == expected
    assert list(found)[: len(expected)] == list(expected)
    assert "cut.png" in found  # truncated
    assert "good.jpg" not in found and "grey.png" not in found
    for path in bad:
        with pytest.raises(keras_captioning.data.ImageFileError):
            keras_captioning.data.read_image(path)


def test_a_cut_jpeg_needs_a_full_decode(folder):
    path = str(folder / "cut.jpg")
    assert find_bad_images([path]) == {}
    (reason,) = find_bad_images([path], decode=True).values()
    assert "truncated" in reason


def test_every_file_good_gives_an_empty_dict(folder):
    assert find_bad_images([folder / "good.jpg", folder / "grey.png"]) == {}
    assert find_bad_images([]) == {}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image_paths": "a.jpg"}, "not one path"),
        ({"image_paths": [1]}, "str or path-like"),
        ({"image_paths": [], "decode": 1}, "decode=1"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(TypeError, match=match):
        find_bad_images(**kwargs)
