"""`list_image_files` lists the images of folders and keeps other paths."""

import os

import pytest

from keras_captioning.data import list_image_files


def test_folders_give_their_image_files_sorted_and_files_stay(tmp_path):
    for name in ("b.png", "a.JPG", "c.webp", "notes.txt", "sub.jpg"):
        if name == "sub.jpg":
            (tmp_path / name).mkdir()  # A folder named like an image.
        else:
            (tmp_path / name).write_bytes(b"")
    (tmp_path / "deeper").mkdir()
    (tmp_path / "deeper" / "d.png").write_bytes(b"")
    listed = list_image_files(["gone.jpg", tmp_path, "notes.md"])
    assert listed == [
        "gone.jpg",
        *(
            os.path.join(tmp_path, name)
            for name in ("a.JPG", "b.png", "c.webp")
        ),
        "notes.md",
    ]
    assert list_image_files([]) == []


def test_one_path_is_a_type_error(tmp_path):
    with pytest.raises(TypeError, match="`paths` must be a list.*Received"):
        list_image_files(str(tmp_path))
