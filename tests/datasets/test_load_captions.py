import json
import os
import re

import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st
from PIL import Image

from keras_captioning import datasets
from keras_captioning.datasets import load_captions

# A few lines of each form, as the real files have them.
KAGGLE_FLICKR8K = (
    "image,caption\n"
    "1000268201_693b08cb0e.jpg,A child in a pink dress is climbing up a set "
    "of stairs in an entry way .\n"
    "1000268201_693b08cb0e.jpg,A girl going into a wooden building .\n"
    '1001773457_577c3a7d70.jpg,"A black dog and a white dog with brown '
    'spots are staring at each other in the street ."\n'
    '1001773457_577c3a7d70.jpg,"A black dog and a spotted dog are fighting"\n'
    '1002674143_1b742ab4b8.jpg,"A little girl covered in paint sits in '
    'front of a painted rainbow with her hands in a bowl ."\n'
    '1000268201_693b08cb0e.jpg,"A little girl climbing the stairs to her '
    'playhouse, smiling ."\n'
)
FLICKR30K = (
    "image_name| comment_number| comment\n"
    "1000092795.jpg| 0| Two young guys with shaggy hair look at their hands "
    "while hanging out in the yard .\n"
    "1000092795.jpg| 1| Two young , White males are outside near many "
    "bushes .\n"
    "10002456.jpg| 0| Several men in hard hats are operating a giant "
    "pulley system .\n"
    "2199200615.jpg| 4   A dog runs across the grass .\n"
    "10002456.jpg| 1| Workers look down from up above on a piece of "
    "equipment | a crane .\n"
)
FLICKR8K_TOKENS = (
    "1000268201_693b08cb0e.jpg#0\tA child in a pink dress is climbing up a "
    "set of stairs in an entry way .\n"
    "1000268201_693b08cb0e.jpg#1\tA girl going into a wooden building .\n"
    "1001773457_577c3a7d70.jpg#0\tA black dog and a spotted dog are "
    "fighting\n"
)


def coco_annotations():
    return {
        "info": {"description": "COCO 2017 Dataset", "year": 2017},
        "licenses": [{"id": 1, "name": "Attribution-NonCommercial"}],
        "images": [
            {
                "license": 3,
                "file_name": "000000391895.jpg",
                "height": 360,
                "width": 640,
                "id": 391895,
            },
            {
                "license": 4,
                "file_name": "000000522418.jpg",
                "height": 480,
                "width": 640,
                "id": 522418,
            },
            {
                "license": 1,
                "file_name": "000000184613.jpg",
                "height": 336,
                "width": 500,
                "id": 184613,
            },
        ],
        "annotations": [
            {
                "image_id": 522418,
                "id": 394,
                "caption": "A woman wearing a net on her head cutting a cake. ",
            },
            {
                "image_id": 391895,
                "id": 770,
                "caption": "A man with a red "
                "helmet on a small moped on a dirt road. ",
            },
            {
                "image_id": 522418,
                "id": 3009,
                "caption": "A woman cutting a large white sheet cake.",
            },
        ],
    }


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as file:
        file.write(text)
    return str(path)


def write_images(folder, names):
    for index, name in enumerate(names):
        path = os.path.join(folder, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Image.fromarray(np.full((6, 8, 3), 30 * index, "uint8")).save(path)


def names_of(paths):
    return [os.path.basename(path) for path in paths]


def test_kaggle_flickr8k_captions_txt_with_quoted_commas(tmp_path):
    path = write(tmp_path / "captions.txt", KAGGLE_FLICKR8K)
    data = load_captions(path, tmp_path / "Images", check_files=False)
    # The public result type: a `(paths, references)` tuple with what was
    # read as attributes.
    assert isinstance(data, datasets.LoadedCaptions)
    assert isinstance(data, tuple) and len(data) == 2
    assert (data.format, data.detected) == ("csv", True)
    paths, references = data
    assert (paths, references) == (data.image_paths, data.references)
    assert names_of(paths) == [
        "1000268201_693b08cb0e.jpg",
        "1001773457_577c3a7d70.jpg",
        "1002674143_1b742ab4b8.jpg",
    ]
    assert paths[0] == os.path.join(
        str(tmp_path / "Images"), "1000268201_693b08cb0e.jpg"
    )
    assert references[0] == [
        "A child in a pink dress is climbing up a set of stairs in an entry "
        "way .",
        "A girl going into a wooden building .",
        "A little girl climbing the stairs to her playhouse, smiling .",
    ]
    assert references[1][1] == "A black dog and a spotted dog are fighting"
    assert data.rows == 6 == sum(map(len, references))
    assert "'csv' (detected)" in data.describe()


def test_flickr30k_results_csv_with_its_broken_row(tmp_path):
    path = write(tmp_path / "results.csv", FLICKR30K)
    data = load_captions(path, check_files=False)
    assert data.format == "flickr30k"
    assert names_of(data.image_paths) == [
        "1000092795.jpg",
        "10002456.jpg",
        "2199200615.jpg",
    ]
    assert data.references[1] == [
        "Several men in hard hats are operating a giant pulley system .",
        "Workers look down from up above on a piece of equipment | a crane .",
    ]
    assert data.references[2] == ["A dog runs across the grass ."]
    assert data.notes == (
        "repaired 1 row(s) whose comment number and comment ran together "
        "(line 5)",
    )
    assert data.rows == 5


def test_coco_annotations_with_the_guessed_image_folder(tmp_path):
    path = tmp_path / "annotations" / "captions_val2017.json"
    write(path, json.dumps(coco_annotations()))
    write_images(tmp_path / "val2017", ["000000391895.jpg", "000000522418.jpg"])
    data = load_captions(path)
    assert data.format == "coco"
    assert data.image_paths == [
        os.path.join(str(tmp_path / "val2017"), "000000391895.jpg"),
        os.path.join(str(tmp_path / "val2017"), "000000522418.jpg"),
    ]
    assert data.references == [
        ["A man with a red helmet on a small moped on a dirt road."],
        [
            "A woman wearing a net on her head cutting a cake.",
            "A woman cutting a large white sheet cake.",
        ],
    ]
    assert data.notes == ("left out 1 of 3 images with no caption",)
    assert data.rows == 3


def test_karpathy_file_by_split(tmp_path):
    records = [
        {
            "filepath": "val2014",
            "filename": "a.jpg",
            "split": "test",
            "sentences": [{"raw": "A cat."}],
        },
        {
            "filepath": "train2014",
            "filename": "b.jpg",
            "split": "train",
            "sentences": [{"raw": "A dog."}, {"raw": "Dogs."}],
        },
        {
            "filepath": "val2014",
            "filename": "c.jpg",
            "split": "restval",
            "sentences": [{"raw": "A bird."}],
        },
        {
            "filepath": "val2014",
            "filename": "d.jpg",
            "split": "val",
            "sentences": [{"raw": "A fish."}],
        },
    ]
    path = write(
        tmp_path / "dataset_coco.json",
        json.dumps({"images": records, "dataset": "coco"}),
    )
    data = load_captions(path, "/data/coco", split="train", check_files=False)
    assert data.format == "karpathy"
    assert data.image_paths == [
        os.path.join("/data/coco", "train2014", "b.jpg"),
        os.path.join("/data/coco", "val2014", "c.jpg"),
    ]
    assert data.split == "train"
    no_restval = load_captions(
        path, "/data/coco", "train", use_restval=False, check_files=False
    )
    assert names_of(no_restval.image_paths) == ["b.jpg"]
    validation = load_captions(path, "/data/coco", "val", check_files=False)
    assert validation.references == [["A fish."]]
    everything = load_captions(path, "/data/coco", check_files=False)
    assert everything.rows == 5


def test_flickr8k_token_file_and_its_split_files(tmp_path):
    text_dir = tmp_path / "Flickr8k_text"
    token = write(text_dir / "Flickr8k.token.txt", FLICKR8K_TOKENS)
    write(text_dir / "Flickr_8k.testImages.txt", "1001773457_577c3a7d70.jpg\n")
    for path in (token, str(text_dir)):
        data = load_captions(path, "Flicker8k_Dataset", check_files=False)
        assert data.format == "flickr8k"
        assert data.rows == 3
    test = load_captions(token, "Flicker8k_Dataset", "test", check_files=False)
    assert test.image_paths == [
        os.path.join("Flicker8k_Dataset", "1001773457_577c3a7d70.jpg")
    ]


def test_tsv_and_named_columns(tmp_path):
    path = write(
        tmp_path / "labels.tsv",
        "id\tphoto\tdescription\n1\tx/1.png\tA red boat.\n2\tx/2.png\tA "
        "boat, blue.\n",
    )
    with pytest.raises(ValueError, match=r"holds the images.*image_column="):
        load_captions(path, check_files=False)
    data = load_captions(
        path,
        image_column="photo",
        caption_column="Description",
        check_files=False,
    )
    assert data.format == "tsv"
    assert data.image_paths == [
        os.path.join(str(tmp_path), "x", "1.png"),
        os.path.join(str(tmp_path), "x", "2.png"),
    ]
    assert data.references == [["A red boat."], ["A boat, blue."]]
    with pytest.raises(ValueError, match=r"no column 'caption'.*caption_col"):
        load_captions(
            path,
            image_column="photo",
            caption_column="caption",
            check_files=False,
        )


def test_json_lines_with_lists_of_captions(tmp_path):
    path = write(
        tmp_path / "captions.jsonl",
        '{"file_name": "a.jpg", "text": "A red boat."}\n'
        "\n"
        '{"file_name": "b.jpg", "text": ["Two dogs.", "Dogs in snow."]}\n'
        '{"file_name": "a.jpg", "text": "A boat.", "extra": 1}\n',
    )
    data = load_captions(path, check_files=False)
    assert data.format == "jsonl"
    assert data.references == [
        ["A red boat.", "A boat."],
        ["Two dogs.", "Dogs in snow."],
    ]
    assert data.rows == 4


@pytest.mark.parametrize("metadata", ["metadata.jsonl", "metadata.csv"])
def test_imagefolder_with_and_without_split_folders(tmp_path, metadata):
    if metadata.endswith("jsonl"):
        lines = [
            json.dumps({"file_name": name, "text": text})
            for name, text in [
                ("0001.jpg", "A red boat."),
                ("0002.jpg", "Two dogs."),
            ]
        ]
        text = "\n".join(lines) + "\n"
    else:
        text = "file_name,text\n0001.jpg,A red boat.\n0002.jpg,Two dogs.\n"
    flat = tmp_path / "flat"
    write(flat / metadata, text)
    write_images(flat, ["0001.jpg", "0002.jpg"])
    data = load_captions(flat)
    assert data.format == "imagefolder"
    assert data.image_paths == [
        os.path.join(str(flat), "0001.jpg"),
        os.path.join(str(flat), "0002.jpg"),
    ]
    by_split = tmp_path / "by_split"
    write(by_split / "train" / metadata, text)
    write(by_split / "validation" / metadata, text)
    write_images(by_split / "train", ["0001.jpg", "0002.jpg"])
    write_images(by_split / "validation", ["0001.jpg", "0002.jpg"])
    validation = load_captions(by_split, split="validation")
    assert validation.image_paths == [
        os.path.join(str(by_split), "validation", "0001.jpg"),
        os.path.join(str(by_split), "validation", "0002.jpg"),
    ]
    assert load_captions(by_split).rows == 4


def test_explicit_format_overrides_detection(tmp_path):
    # A caption file whose header holds no delimiter detection knows.
    path = write(tmp_path / "captions.txt", "image;caption\na.jpg;A dog.\n")
    with pytest.raises(ValueError, match=r"Cannot tell the form.*format="):
        load_captions(path, check_files=False)
    # Named .tsv, written with commas: detection goes by the name.
    path = write(tmp_path / "rows.tsv", 'image,caption\na.jpg,"A, dog."\n')
    with pytest.raises(ValueError, match="holds the images"):
        load_captions(path, check_files=False)
    data = load_captions(path, format="csv", check_files=False)
    assert (data.format, data.detected) == ("csv", False)
    assert data.references == [["A, dog."]]
    assert "'csv' (given)" in data.describe()


def test_split_holds_out_images_not_captions(tmp_path):
    rows = "".join(
        f"{index:03d}.jpg,Caption {k} of image {index}\n"
        for index in range(40)
        for k in range(3)
    )
    path = write(tmp_path / "captions.csv", "image,caption\n" + rows)
    splits = load_captions(
        path, split={"validation": 0.1, "test": 6}, check_files=False
    )
    assert list(splits) == ["train", "validation", "test"]
    sizes = {name: len(data.image_paths) for name, data in splits.items()}
    assert sizes == {"train": 30, "validation": 4, "test": 6}
    assert splits["test"].notes == (
        "split by image with seed 0: 30 train, 4 validation, 6 test images",
    )
    seen = [path for data in splits.values() for path in data.image_paths]
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 40
    assert all(
        len(captions) == 3
        for data in splits.values()
        for captions in data.references
    )
    again = load_captions(
        path, split={"validation": 0.1, "test": 6}, check_files=False
    )
    assert again["test"].image_paths == splits["test"].image_paths
    other = load_captions(
        path, split={"validation": 0.1, "test": 6}, seed=1, check_files=False
    )
    assert other["test"].image_paths != splits["test"].image_paths


def test_a_named_split_of_data_without_splits_says_how(tmp_path):
    path = write(tmp_path / "captions.csv", "image,caption\na.jpg,A dog.\n")
    with pytest.raises(ValueError, match=r"has no split.*split=\{"):
        load_captions(path, split="train", check_files=False)


@pytest.mark.parametrize(
    "holdout, error, match",
    [
        ({"test": 0.01}, ValueError, "holds out no image"),
        ({"test": 10}, ValueError, "leaving none to train on"),
        ({"train": 1}, ValueError, "other than 'train'"),
        ({"test": 1.5}, ValueError, r"fraction in \(0, 1\)"),
        ({"test": "1"}, TypeError, "fraction"),
        ({}, TypeError, "non-empty dict"),
    ],
)
def test_bad_holdouts_raise(holdout, error, match):
    with pytest.raises(error, match=match):
        datasets.split_images(list("abcdefghij"), [["x"]] * 10, holdout)


@pytest.mark.parametrize(
    "name, content, match",
    [
        (
            "captions.csv",
            "image,caption\na.jpg,A dog.\nb.jpg,  \n",
            r"Line 3 of .*captions.csv' has an empty caption",
        ),
        (
            "captions.csv",
            "image,caption\na.jpg,A dog.\nb.jpg\n",
            r"Line 3 of .* has 1 column\(s\); expected at least 2",
        ),
        (
            "captions.csv",
            "image,caption\na.jpg,A dog, running.\n",
            r"Line 2 of .* has 3 columns.*quote a caption",
        ),
        (
            "results.csv",
            "image_name| comment_number| comment\na.jpg| 0|\n",
            r"Line 2 of .*results.csv' has an empty caption",
        ),
        (
            "results.csv",
            "image_name| comment_number| comment\na.jpg\n",
            r"Line 2 of .* has 1 '\|'-separated field\(s\); expected 3",
        ),
        (
            "captions.jsonl",
            '{"image": "a.jpg", "caption": "A."}\n{"image": "b.jpg"}\n',
            r'Line 2 of .* has no "caption" field',
        ),
        (
            "captions.jsonl",
            '{"image": "a.jpg", "caption": "A."}\n{"image"\n',
            r"Line 2 of .* is not a JSON object",
        ),
        (
            "captions_val2017.json",
            json.dumps(
                {
                    "images": [{"id": 1, "file_name": "a.jpg"}],
                    "annotations": [
                        {"image_id": 1, "caption": "A."},
                        {"id": 5, "caption": "B."},
                    ],
                }
            ),
            r'Annotation record 1 of .* has no "image_id"',
        ),
        (
            "captions_val2017.json",
            json.dumps(
                {
                    "images": [{"id": 1, "file_name": "a.jpg"}],
                    "annotations": [{"image_id": 2, "caption": "A."}],
                }
            ),
            r"Annotation record 0 of .* image_id=2, which no record",
        ),
        (
            "captions_val2017.json",
            json.dumps(
                {
                    "images": [{"id": 1, "file_name": "a.jpg"}],
                    "annotations": [{"image_id": 1, "caption": " "}],
                }
            ),
            r"Annotation record 0 of .* has an empty caption",
        ),
        (
            "captions_val2017.json",
            json.dumps({"images": [{"id": 1}], "annotations": []}),
            r'Image record 0 of .* needs a string "file_name"',
        ),
        (
            "captions_val2017.json",
            json.dumps(
                {
                    "images": [{"id": 1, "file_name": "a.jpg"}],
                    "annotations": [{"image_id": 1, "caption": "A \ud800."}],
                }
            ),
            r"Annotation record 0 of .* cannot be stored as UTF-8",
        ),
    ],
)
def test_bad_rows_name_the_file_and_line(tmp_path, name, content, match):
    path = write(tmp_path / name, content)
    with pytest.raises(ValueError, match=match):
        load_captions(path, check_files=False)


@pytest.mark.parametrize(
    "name, content",
    [
        ("captions.csv", b"image,caption\na.jpg,A dog.\nb.jpg,A caf\xe9.\n"),
        (
            "results.csv",
            b"image_name| comment_number| comment\n"
            b"a.jpg| 0| A dog.\nb.jpg| 0| A caf\xe9.\n",
        ),
        (
            "captions.jsonl",
            b'{"image": "a.jpg", "caption": "A."}\n'
            b'{"image": "b.jpg", "caption": "A caf\xe9."}\n',
        ),
    ],
)
def test_a_file_that_is_not_utf8_names_its_line(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    line = content.count(b"\n")
    match = re.escape(name) + rf".* not UTF-8 text: line {line},"
    with pytest.raises(ValueError, match=match):
        load_captions(path, check_files=False)


def test_missing_images_are_listed(tmp_path):
    path = write(tmp_path / "captions.txt", KAGGLE_FLICKR8K)
    write_images(tmp_path / "Images", ["1000268201_693b08cb0e.jpg"])
    with pytest.raises(FileNotFoundError, match=r"2 of 3 images"):
        load_captions(path, tmp_path / "Images")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"format": "excel"}, ValueError, "format='excel'"),
        ({"split": 0.1}, TypeError, "split=0.1"),
        ({"split": "training"}, ValueError, "split='training'"),
        ({"image_column": 1}, TypeError, "image_column=1"),
        ({"path": 3}, TypeError, "path=3"),
        ({"path": "no-such-file.csv"}, FileNotFoundError, "no-such-file"),
        ({"format": "imagefolder"}, ValueError, "reads a folder"),
    ],
)
def test_bad_arguments_raise(tmp_path, kwargs, error, match):
    path = write(tmp_path / "captions.csv", "image,caption\na.jpg,A dog.\n")
    arguments = {"path": path, "check_files": False, **kwargs}
    with pytest.raises(error, match=re.escape(match)):
        load_captions(**arguments)


caption_text = st.text(
    st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20
).filter(lambda text: text.strip())


@hypothesis.settings(deadline=None)
@hypothesis.given(
    rows=st.lists(
        st.tuples(st.integers(0, 5), caption_text), min_size=1, max_size=30
    ),
    form=st.sampled_from(["csv", "tsv", "jsonl"]),
)
def test_rows_in_equal_references_out(tmp_path_factory, rows, form):
    """Every row comes out, grouped by image in file order, in each form."""
    folder = tmp_path_factory.mktemp("rows")
    path = folder / f"captions.{form}"
    if form == "jsonl":
        path.write_text(
            "".join(
                json.dumps({"image": f"{i}.jpg", "caption": caption}) + "\n"
                for i, caption in rows
            ),
            "utf-8",
        )
    else:
        import csv

        with open(path, "w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file, delimiter="," if form == "csv" else "\t")
            writer.writerow(["image", "caption"])
            writer.writerows([(f"{i}.jpg", caption) for i, caption in rows])
    data = load_captions(path, check_files=False)
    assert data.format == form
    assert data.rows == len(rows) == sum(map(len, data.references))
    expected = {}
    for i, caption in rows:
        expected.setdefault(f"{i}.jpg", []).append(caption.strip())
    assert names_of(data.image_paths) == list(expected)
    assert data.references == list(expected.values())
