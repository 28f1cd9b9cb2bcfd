import json
import os
import pathlib
import re
import tempfile

import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st
from PIL import Image

from keras_captioning.datasets import karpathy


def write_image(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pixels = np.full((6, 8, 3), value, np.uint8)
    Image.fromarray(pixels).save(path)


def record(filename, split, captions, filepath=None):
    entry = {
        "filename": filename,
        "split": split,
        "sentences": [
            {"raw": caption, "tokens": caption.lower().split()}
            for caption in captions
        ],
    }
    if filepath is not None:
        entry["filepath"] = filepath
    return entry


@pytest.fixture
def coco(tmp_path):
    """A COCO-like split file: images in two sub-folders, every split."""
    records = [
        record("t1.jpg", "train", ["A cat.", "A cat on a mat. "], "train2014"),
        record("r1.jpg", "restval", ["A dog.\n"], "val2014"),
        record("v1.jpg", "val", ["A bird.", "Birds."], "val2014"),
        record("t2.jpg", "train", ["Two cats."], "train2014"),
        record("s1.jpg", "test", ["A fish.", "Fish", "A red fish."], "val2014"),
        record("r2.jpg", "restval", ["A horse."], "val2014"),
    ]
    image_dir = tmp_path / "images"
    for index, entry in enumerate(records):
        write_image(
            str(image_dir / entry["filepath"] / entry["filename"]), 20 * index
        )
    json_path = tmp_path / "dataset_coco.json"
    json_path.write_text(json.dumps({"images": records, "dataset": "coco"}))
    return str(json_path), str(image_dir)


def test_train_includes_restval_by_default_in_file_order(coco):
    json_path, image_dir = coco
    paths, references = karpathy.load_split(json_path, image_dir)
    assert paths == [
        os.path.join(image_dir, "train2014", "t1.jpg"),
        os.path.join(image_dir, "val2014", "r1.jpg"),
        os.path.join(image_dir, "train2014", "t2.jpg"),
        os.path.join(image_dir, "val2014", "r2.jpg"),
    ]
    assert references == [
        ["A cat.", "A cat on a mat."],
        ["A dog."],
        ["Two cats."],
        ["A horse."],
    ]
    # The paths name real images that an input pipeline can open.
    for path in paths:
        with Image.open(path) as image:
            assert image.size == (8, 6)


def test_restval_can_be_left_out_or_read_alone(coco):
    json_path, image_dir = coco
    paths, references = karpathy.load_split(
        json_path, image_dir, use_restval=False
    )
    assert [os.path.basename(p) for p in paths] == ["t1.jpg", "t2.jpg"]
    assert references == [["A cat.", "A cat on a mat."], ["Two cats."]]
    paths, references = karpathy.load_split(json_path, image_dir, "restval")
    assert [os.path.basename(p) for p in paths] == ["r1.jpg", "r2.jpg"]
    assert references == [["A dog."], ["A horse."]]


def test_validation_and_test_splits(coco):
    json_path, image_dir = coco
    for split in ("val", "validation"):
        paths, references = karpathy.load_split(json_path, image_dir, split)
        assert paths == [os.path.join(image_dir, "val2014", "v1.jpg")]
        assert references == [["A bird.", "Birds."]]
    # use_restval only concerns the train split.
    paths, references = karpathy.load_split(
        json_path, image_dir, "test", use_restval=True
    )
    assert [os.path.basename(p) for p in paths] == ["s1.jpg"]
    assert references == [["A fish.", "Fish", "A red fish."]]


def test_paths_without_filepath_and_path_objects(tmp_path):
    # The Flickr files have no "filepath": images sit in image_dir itself.
    records = [
        record("a.jpg", "train", ["One."]),
        record("b.jpg", "test", ["Two."]),
    ]
    for index, entry in enumerate(records):
        write_image(str(tmp_path / entry["filename"]), index)
    json_path = tmp_path / "dataset_flickr8k.json"
    json_path.write_text(json.dumps({"images": records}))
    paths, references = karpathy.load_split(json_path, tmp_path, "train")
    assert paths == [os.path.join(str(tmp_path), "a.jpg")]
    assert all(isinstance(path, str) for path in paths)
    assert references == [["One."]]


def test_split_absent_from_the_file_raises(tmp_path):
    json_path = tmp_path / "dataset_flickr8k.json"
    json_path.write_text(
        json.dumps({"images": [record("a.jpg", "train", ["One."])]})
    )
    with pytest.raises(ValueError, match=r"split='restval'.*\['train'\]"):
        karpathy.load_split(json_path, tmp_path, "restval", check_files=False)


def test_missing_json_raises(tmp_path):
    missing = str(tmp_path / "nope.json")
    with pytest.raises(
        FileNotFoundError, match=re.escape(f"json_path={missing!r}")
    ):
        karpathy.load_split(missing, tmp_path)


@pytest.mark.parametrize(
    "split, error",
    [("training", ValueError), ("dev", ValueError), ("", ValueError)]
    + [(None, TypeError), (3, TypeError)],
)
def test_unknown_split_raises(coco, split, error):
    json_path, image_dir = coco
    with pytest.raises(error, match=re.escape(f"split={split!r}")):
        karpathy.load_split(json_path, image_dir, split)


def test_missing_images_are_listed_unless_unchecked(coco):
    json_path, image_dir = coco
    os.remove(os.path.join(image_dir, "val2014", "r2.jpg"))
    with pytest.raises(FileNotFoundError, match=r"1 of 4 images.*r2\.jpg"):
        karpathy.load_split(json_path, image_dir)
    paths, _ = karpathy.load_split(json_path, image_dir, check_files=False)
    assert len(paths) == 4


def test_many_missing_images_are_counted(tmp_path):
    records = [record(f"{index}.jpg", "test", ["x"]) for index in range(12)]
    json_path = tmp_path / "dataset.json"
    json_path.write_text(json.dumps({"images": records}))
    with pytest.raises(FileNotFoundError, match=r"12 of 12 .* and 7 more"):
        karpathy.load_split(json_path, tmp_path, "test")


def test_missing_image_dir_raises(coco, tmp_path):
    json_path, _ = coco
    missing = str(tmp_path / "no_images")
    with pytest.raises(
        FileNotFoundError, match=re.escape(f"image_dir={missing!r}")
    ):
        karpathy.load_split(json_path, missing)


@pytest.mark.parametrize(
    "content, match",
    [
        ("{not json", "not valid JSON"),
        (json.dumps([1, 2]), 'an "images" list'),
        (json.dumps({"images": [{"split": "train"}]}), 'string "filename"'),
        (
            json.dumps({"images": [{"filename": "a.jpg", "split": "train"}]}),
            'non-empty "sentences" list',
        ),
        (
            json.dumps(
                {
                    "images": [
                        {
                            "filename": "a.jpg",
                            "split": "train",
                            "sentences": [{"tokens": ["a"]}],
                        }
                    ]
                }
            ),
            'without a non-empty "raw"',
        ),
    ],
)
def test_malformed_files_raise(tmp_path, content, match):
    json_path = tmp_path / "dataset.json"
    json_path.write_text(content)
    with pytest.raises(ValueError, match=re.escape(match)):
        karpathy.load_split(json_path, tmp_path, check_files=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"json_path": 3}, "json_path=3"),
        ({"image_dir": None}, "image_dir=None"),
        ({"use_restval": "yes"}, "use_restval='yes'"),
        ({"check_files": 1}, "check_files=1"),
    ],
)
def test_bad_argument_types_raise(coco, kwargs, match):
    json_path, image_dir = coco
    arguments = {"json_path": json_path, "image_dir": image_dir, **kwargs}
    with pytest.raises(TypeError, match=re.escape(match)):
        karpathy.load_split(**arguments)


# Text a caption can be: no lone surrogates, which JSON's "\\ud800" escape
# can hold but UTF-8 cannot (they are refused, tested below).
captions = st.lists(
    st.text(
        st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30
    ).filter(lambda text: text.strip()),
    min_size=1,
    max_size=6,
)


@hypothesis.settings(deadline=None)
@hypothesis.given(
    images=st.lists(
        st.tuples(st.sampled_from(["train", "val", "test"]), captions),
        min_size=1,
        max_size=8,
    )
)
def test_any_captions_round_trip(images):
    with tempfile.TemporaryDirectory() as folder:
        records = [
            record(f"{index}.jpg", split, texts)
            for index, (split, texts) in enumerate(images)
        ]
        json_path = pathlib.Path(folder, "dataset.json")
        json_path.write_text(json.dumps({"images": records}), "utf-8")
        for split in ("train", "val", "test"):
            expected = [
                (f"{index}.jpg", [text.strip() for text in texts])
                for index, (label, texts) in enumerate(images)
                if label == split
            ]
            if not expected:
                continue
            paths, references = karpathy.load_split(
                json_path, folder, split, check_files=False
            )
            assert [os.path.basename(path) for path in paths] == [
                name for name, _ in expected
            ]
            assert references == [texts for _, texts in expected]


def test_a_lone_surrogate_caption_is_refused_by_record(tmp_path):
    records = [
        record("a.jpg", "train", ["A dog."]),
        record("b.jpg", "train", ["A \ud800 cat."]),
    ]
    json_path = tmp_path / "dataset.json"
    json_path.write_text(json.dumps({"images": records}), "utf-8")
    with pytest.raises(ValueError, match=r"Image record 1 \('b.jpg'\).*UTF-8"):
        karpathy.load_split(json_path, tmp_path, check_files=False)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    json_path = tmp_path / "dataset.json"
    json_path.write_bytes(b'{"images": [\n{"filename": "caf\xe9.jpg"}]}')
    with pytest.raises(ValueError, match="not UTF-8 text: line 2, column 18"):
        karpathy.load_split(json_path, tmp_path, check_files=False)


def test_a_coco_file_is_named_as_such(tmp_path):
    json_path = tmp_path / "captions_val2017.json"
    json_path.write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(ValueError, match="is a COCO annotation file"):
        karpathy.load_split(json_path, tmp_path, check_files=False)
