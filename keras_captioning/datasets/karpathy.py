"""Reads the Karpathy splits of COCO, Flickr8k and Flickr30k.

Karpathy and Fei-Fei's split files (`dataset_coco.json`,
`dataset_flickr8k.json`, `dataset_flickr30k.json`) are the usual way to
train and score captioning models on these datasets. Each holds one record
per image::

    {"images": [{"filepath": "val2014",           # COCO only
                 "filename": "COCO_val2014_000000391895.jpg",
                 "split": "train" | "val" | "test" | "restval",
                 "sentences": [{"raw": "A man riding a bike.", "tokens": [...]},
                               ...]},
                ...],
     "dataset": "coco"}

The files hold captions only; the images come from each dataset's own
download. An image's path is `image_dir/filepath/filename`, or
`image_dir/filename` when the record has no `filepath` (Flickr8k, Flickr30k).
For COCO, `image_dir` is therefore the folder that holds `train2014/` and
`val2014/`.

About "restval": COCO's Karpathy split keeps 5,000 validation and 5,000 test
images and labels the remaining 30,504 images of the original validation set
"restval". Common practice, followed here by default, is to train on them:
`split="train"` returns train and restval images together (113,287 for
COCO). Pass `use_restval=False` for the 82,783 train images only, or
`split="restval"` for the restval images alone. The Flickr files have no
restval images.

`keras_captioning.datasets.load_captions` reads these files too (format
`"karpathy"`, detected for a JSON object whose `"images"` records hold
`"sentences"`).
"""

import os

from keras_captioning.datasets import _caption_rows
from keras_captioning.datasets import _files

FORMATS = ("karpathy",)

_SPLITS = {
    "train": "train",
    "validation": "val",
    "val": "val",
    "test": "test",
    "restval": "restval",
}


def load_split(
    json_path, image_dir, split="train", use_restval=True, check_files=True
):
    """Reads one split of a Karpathy split file.

    Args:
        json_path: str or path-like. The split file, e.g.
            `"dataset_coco.json"`.
        image_dir: str or path-like. Folder the record paths are relative to
            (see the module documentation).
        split: str. `"train"`, `"validation"` (or `"val"`), `"test"` or
            `"restval"`. Defaults to `"train"`.
        use_restval: bool. Whether `split="train"` also returns the images
            labelled `"restval"`. Ignored for other splits. Defaults to
            `True`.
        check_files: bool. Whether to check that every image of the split
            exists under `image_dir`, raising a `FileNotFoundError` that
            lists the first missing ones. Defaults to `True`.

    Returns:
        Tuple `(image_paths, references)`: `image_paths` is a list of str,
        in the order of the file, and `references` a list of the same length
        whose entries are lists of all the raw captions of that image, with
        surrounding whitespace removed.

    Example:

    >>> import json, os, tempfile
    >>> import keras_captioning
    >>> folder = tempfile.mkdtemp()
    >>> record = {"filename": "a.jpg", "split": "test",
    ...           "sentences": [{"raw": "A dog runs."}, {"raw": "A dog."}]}
    >>> with open(os.path.join(folder, "dataset.json"), "w") as file:
    ...     json.dump({"images": [record], "dataset": "flickr8k"}, file)
    >>> paths, references = keras_captioning.datasets.karpathy.load_split(
    ...     os.path.join(folder, "dataset.json"), folder, split="test",
    ...     check_files=False)
    >>> os.path.basename(paths[0]), references[0]
    ('a.jpg', ['A dog runs.', 'A dog.'])
    """
    json_path = _files.as_path(json_path, "json_path")
    image_dir = _files.as_path(image_dir, "image_dir")
    _files.check_bool(use_restval, "use_restval")
    _files.check_bool(check_files, "check_files")
    labels = _split_labels(split, use_restval)
    _files.check_file(json_path, "json_path")
    if check_files:
        _files.check_directory(image_dir, "image_dir")

    records = _read_records(json_path)
    image_paths = []
    references = []
    for index, record in enumerate(records):
        _check_record(record, index, json_path)
        if record["split"] not in labels:
            continue
        image_paths.append(_image_path(image_dir, record))
        references.append(_captions(record, index, json_path))
    if not image_paths:
        present = sorted({str(record["split"]) for record in records})
        raise ValueError(
            f"No image of split={split!r} in json_path={json_path!r}: it "
            f"labels its images {present}. Choose one of those splits."
        )
    if check_files:
        _files.check_images_exist(image_paths, image_dir)
    return image_paths, references


def _split_labels(split, use_restval):
    if not isinstance(split, str):
        raise TypeError(
            "`split` must be a string: 'train', 'validation' (or 'val'), "
            f"'test' or 'restval'. Received: split={split!r} of type "
            f"{type(split).__name__}"
        )
    if split not in _SPLITS:
        raise ValueError(
            "`split` must be one of 'train', 'validation' (or 'val'), 'test' "
            f"or 'restval'. Received: split={split!r}"
        )
    label = _SPLITS[split]
    if label == "train" and use_restval:
        return {"train", "restval"}
    return {label}


def _detect(source):
    """`"karpathy"` if `source` is a Karpathy split file."""
    content = source.json_with_images
    if (
        content is not None
        and "annotations" not in content
        and content["images"]
        and isinstance(content["images"][0], dict)
        and "sentences" in content["images"][0]
    ):
        return "karpathy"
    return None


# Labels of the file to the split names of `load_captions`.
_LABELS = {"val": "validation"}


def _read(source, options, format="karpathy"):
    """Reads every record into `ParsedCaptions` (see `load_captions`)."""
    records = _records(source.json, source.path)
    parsed = _caption_rows.ParsedCaptions(image_dir=None)
    for index, record in enumerate(records):
        _check_record(record, index, source.path)
        name = _image_path("", record)
        label = _LABELS.get(record["split"], record["split"])
        for caption in _captions(record, index, source.path):
            parsed.add(name, caption, label)
    return parsed


def _read_records(json_path):
    return _records(_caption_rows.Source(json_path).json, json_path)


def _records(content, json_path):
    if isinstance(content, dict) and "annotations" in content:
        raise ValueError(
            f"json_path={json_path!r} is a COCO annotation file (it has an "
            '"annotations" list), not a Karpathy split file. Read it with '
            "`keras_captioning.datasets.load_captions(path)` (format "
            "'coco'), or `keras-captioning train --captions PATH`."
        )
    if not isinstance(content, dict) or not isinstance(
        content.get("images"), list
    ):
        raise ValueError(
            f"json_path={json_path!r} is not a Karpathy split file: expected "
            'an object with an "images" list at the top level'
        )
    return content["images"]


def _check_record(record, index, json_path):
    if not isinstance(record, dict):
        raise ValueError(
            f"Image record {index} of json_path={json_path!r} is not an "
            f"object. Received: {record!r}"
        )
    for key in ("filename", "split"):
        if not isinstance(record.get(key), str):
            raise ValueError(
                f"Image record {index} of json_path={json_path!r} needs a "
                f'string "{key}". Received: {record.get(key)!r}'
            )
    if not isinstance(record.get("filepath", ""), str):
        raise ValueError(
            f"Image record {index} of json_path={json_path!r} has a "
            f'"filepath" that is not a string. Received: {record["filepath"]!r}'
        )


def _image_path(image_dir, record):
    if record.get("filepath"):
        return os.path.join(image_dir, record["filepath"], record["filename"])
    return os.path.join(image_dir, record["filename"])


def _captions(record, index, json_path):
    sentences = record.get("sentences")
    where = (
        f"Image record {index} ({record['filename']!r}) of "
        f"json_path={json_path!r}"
    )
    if not isinstance(sentences, list) or not sentences:
        raise ValueError(
            f'{where} needs a non-empty "sentences" list. Received: '
            f"{sentences!r}"
        )
    captions = []
    for sentence in sentences:
        raw = sentence.get("raw") if isinstance(sentence, dict) else None
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError(
                f'{where} has a sentence without a non-empty "raw" caption. '
                f"Received: {sentence!r}"
            )
        captions.append(_caption_rows.check_caption(raw, where))
    return captions
