import os
import pathlib
import re
import tempfile

import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st
from PIL import Image

from keras_captioning.datasets import flickr8k

# Captions out of `#k` order, and a stray entry that no split lists, as in
# the real Flickr8k.token.txt.
TOKENS = (
    "b.jpg#1\tA dog jumps .\n"
    "a.jpg#0\tA child in a pink dress .\n"
    "a.jpg#1\tA girl climbs stairs .\n"
    "b.jpg#0\tTwo dogs play .\n"
    "\n"
    "c.jpg#0\tA man rides a bike .\n"
    "d.jpg#0\tA boat .\n"
    "2258277193_586949ec62.jpg.1#0\tA caption for no image .\n"
)
SPLITS = {
    "Flickr_8k.trainImages.txt": "b.jpg\na.jpg\n",
    "Flickr_8k.devImages.txt": "c.jpg\n",
    "Flickr_8k.testImages.txt": "d.jpg\n\n",
}


def write_dataset(folder, tokens=TOKENS, splits=SPLITS, images="abcd"):
    folder = pathlib.Path(folder)
    text_dir = folder / "Flickr8k_text"
    image_dir = folder / "Flicker8k_Dataset"
    text_dir.mkdir()
    image_dir.mkdir()
    (text_dir / "Flickr8k.token.txt").write_text(tokens, "utf-8")
    for name, content in splits.items():
        (text_dir / name).write_text(content, "utf-8")
    for index, letter in enumerate(images):
        pixels = np.full((5, 7, 3), 40 * index, np.uint8)
        Image.fromarray(pixels).save(image_dir / f"{letter}.jpg")
    return str(text_dir), str(image_dir)


@pytest.fixture
def dataset(tmp_path):
    return write_dataset(tmp_path)


def test_train_split_in_split_file_order_with_captions_by_number(dataset):
    text_dir, image_dir = dataset
    paths, references = flickr8k.load_split(text_dir, image_dir)
    assert paths == [
        os.path.join(image_dir, "b.jpg"),
        os.path.join(image_dir, "a.jpg"),
    ]
    assert references == [
        ["Two dogs play .", "A dog jumps ."],
        ["A child in a pink dress .", "A girl climbs stairs ."],
    ]
    for path in paths:
        with Image.open(path) as image:
            assert image.size == (7, 5)


@pytest.mark.parametrize("split", ["validation", "val", "dev"])
def test_validation_aliases(dataset, split):
    text_dir, image_dir = dataset
    paths, references = flickr8k.load_split(text_dir, image_dir, split)
    assert paths == [os.path.join(image_dir, "c.jpg")]
    assert references == [["A man rides a bike ."]]


def test_test_split_and_path_objects(dataset):
    text_dir, image_dir = dataset
    paths, references = flickr8k.load_split(
        pathlib.Path(text_dir), pathlib.Path(image_dir), "test"
    )
    assert paths == [os.path.join(image_dir, "d.jpg")]
    assert isinstance(paths[0], str)
    assert references == [["A boat ."]]


def test_windows_line_endings_and_byte_order_mark(tmp_path):
    text_dir, image_dir = write_dataset(
        tmp_path,
        tokens="\ufeff" + TOKENS.replace("\n", "\r\n"),
        splits={
            name: content.replace("\n", "\r\n")
            for name, content in SPLITS.items()
        },
    )
    paths, references = flickr8k.load_split(text_dir, image_dir, "train")
    assert [os.path.basename(path) for path in paths] == ["b.jpg", "a.jpg"]
    assert references[0] == ["Two dogs play .", "A dog jumps ."]


@pytest.mark.parametrize(
    "split, error",
    [("training", ValueError), ("restval", ValueError), (None, TypeError)],
)
def test_unknown_split_raises(dataset, split, error):
    text_dir, image_dir = dataset
    with pytest.raises(error, match=re.escape(f"split={split!r}")):
        flickr8k.load_split(text_dir, image_dir, split)


def test_missing_text_files_raise(dataset):
    text_dir, image_dir = dataset
    os.remove(os.path.join(text_dir, "Flickr_8k.devImages.txt"))
    with pytest.raises(FileNotFoundError, match="Flickr_8k.devImages.txt"):
        flickr8k.load_split(text_dir, image_dir, "validation")
    # Other splits do not need the missing file.
    assert len(flickr8k.load_split(text_dir, image_dir, "test")[0]) == 1
    os.remove(os.path.join(text_dir, "Flickr8k.token.txt"))
    with pytest.raises(FileNotFoundError, match="Flickr8k.token.txt"):
        flickr8k.load_split(text_dir, image_dir, "test")


def test_missing_directories_raise(dataset, tmp_path):
    text_dir, image_dir = dataset
    missing = str(tmp_path / "nowhere")
    with pytest.raises(
        FileNotFoundError, match=re.escape(f"text_dir={missing!r}")
    ):
        flickr8k.load_split(missing, image_dir)
    with pytest.raises(
        FileNotFoundError, match=re.escape(f"image_dir={missing!r}")
    ):
        flickr8k.load_split(text_dir, missing)


def test_missing_images_are_listed_unless_unchecked(tmp_path):
    text_dir, image_dir = write_dataset(tmp_path, images="bcd")
    with pytest.raises(FileNotFoundError, match=r"1 of 2 images.*a\.jpg"):
        flickr8k.load_split(text_dir, image_dir, "train")
    paths, references = flickr8k.load_split(
        text_dir, image_dir, "train", check_files=False
    )
    assert len(paths) == len(references) == 2


def test_image_without_captions_raises(tmp_path):
    splits = {**SPLITS, "Flickr_8k.testImages.txt": "d.jpg\ne.jpg\n"}
    text_dir, image_dir = write_dataset(tmp_path, splits=splits)
    with pytest.raises(ValueError, match=r"1 images .* no caption.*e\.jpg"):
        flickr8k.load_split(text_dir, image_dir, "test")


@pytest.mark.parametrize(
    "bad_line, match",
    [
        ("e.jpg A caption without a tab\n", "Line 9"),
        ("e.jpg\tA caption without a number\n", "Line 9"),
        ("e.jpg#x\tA caption with a bad number\n", "Line 9"),
        ("e.jpg#0\t   \n", "empty caption"),
        ("a.jpg#1\tA repeated number .\n", "repeats caption #1 of 'a.jpg'"),
    ],
)
def test_malformed_token_lines_raise(tmp_path, bad_line, match):
    text_dir, image_dir = write_dataset(tmp_path, tokens=TOKENS + bad_line)
    with pytest.raises(ValueError, match=re.escape(match)):
        flickr8k.load_split(text_dir, image_dir, "train")


def test_empty_split_file_raises(tmp_path):
    splits = {**SPLITS, "Flickr_8k.testImages.txt": "\n"}
    text_dir, image_dir = write_dataset(tmp_path, splits=splits)
    with pytest.raises(ValueError, match="lists no image"):
        flickr8k.load_split(text_dir, image_dir, "test")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"text_dir": 1}, "text_dir=1"),
        ({"image_dir": b"x"}, "image_dir=b'x'"),
        ({"check_files": "no"}, "check_files='no'"),
    ],
)
def test_bad_argument_types_raise(dataset, kwargs, match):
    text_dir, image_dir = dataset
    arguments = {"text_dir": text_dir, "image_dir": image_dir, **kwargs}
    with pytest.raises(TypeError, match=re.escape(match)):
        flickr8k.load_split(**arguments)


# Any caption text a UTF-8 file can hold (no lone surrogates: the reader
# refuses a file that is not UTF-8, tested below), without the line and
# field separators of the format. Only "\n" ends a line, so the other
# Unicode line breaks may appear in a caption.
caption_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\t\n\r"),
    min_size=1,
    max_size=30,
).filter(lambda text: text.strip())


@hypothesis.settings(deadline=None)
@hypothesis.given(
    captions=st.lists(
        st.lists(caption_text, min_size=1, max_size=5), min_size=1, max_size=6
    ),
    order=st.randoms(use_true_random=False),
)
def test_any_captions_round_trip_in_any_line_order(captions, order):
    lines = [
        f"{index}.jpg#{k}\t{text}\n"
        for index, texts in enumerate(captions)
        for k, text in enumerate(texts)
    ]
    order.shuffle(lines)
    names = "".join(f"{index}.jpg\n" for index in range(len(captions)))
    with tempfile.TemporaryDirectory() as folder:
        text_dir = pathlib.Path(folder)
        (text_dir / "Flickr8k.token.txt").write_text("".join(lines), "utf-8")
        (text_dir / "Flickr_8k.testImages.txt").write_text(names, "utf-8")
        paths, references = flickr8k.load_split(
            text_dir, folder, "test", check_files=False
        )
    assert [os.path.basename(path) for path in paths] == [
        f"{index}.jpg" for index in range(len(captions))
    ]
    assert references == [
        [text.strip() for text in texts] for texts in captions
    ]


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    text_dir, image_dir = write_dataset(tmp_path)
    token_path = os.path.join(text_dir, "Flickr8k.token.txt")
    with open(token_path, "ab") as file:
        # A lone surrogate as Python's "surrogatepass" would write it, then
        # a Latin-1 byte: neither is UTF-8.
        file.write("e.jpg#0\tA caf\u00e9 .\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"not UTF-8 text: line 9, column 14"):
        flickr8k.load_split(text_dir, image_dir, "train")
    with open(token_path, "wb") as file:
        file.write(
            TOKENS.encode()
            + "f.jpg#0\t\ud800\n".encode("utf-8", "surrogatepass")
        )
    with pytest.raises(ValueError, match=r"Flickr8k.token.txt.*line 9"):
        flickr8k.load_split(text_dir, image_dir, "train")
