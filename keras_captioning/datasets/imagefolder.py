"""Reads a Hugging Face `imagefolder` directory from disk.

The layout `datasets.load_dataset("imagefolder", data_dir=...)` reads: the
images and a `metadata.jsonl` (or `metadata.csv`) beside them whose
`file_name` field is each image's path relative to the metadata's folder,
and a caption field::

    photos/
      metadata.jsonl     {"file_name": "0001.jpg", "text": "A red boat."}
      0001.jpg
      0002.jpg

or one such folder per split, `photos/train/`, `photos/validation/` (or
`val/`, `valid/`, `dev/`), `photos/test/`, each with its own metadata. The
caption field is found as by the CSV and JSON Lines readers (`caption`,
`text`, ...; or `caption_column`); its value may be a list of captions. The
split folders give the split labels `load_captions(split="train")` picks.

Format `"imagefolder"`; detection picks it for a directory holding
metadata. Read through `keras_captioning.datasets.load_captions`.
"""

import os

from keras_captioning.datasets import _caption_rows
from keras_captioning.datasets import caption_table
from keras_captioning.datasets import json_lines

FORMATS = ("imagefolder",)
METADATA_FILES = ("metadata.jsonl", "metadata.csv")
_SPLIT_FOLDERS = {
    "train": "train",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "dev": "validation",
    "test": "test",
}


def _detect(source):
    """`"imagefolder"` if `source` is a directory with metadata."""
    if source.is_dir and _metadata_files(source.path):
        return "imagefolder"
    return None


def _read(source, options, format="imagefolder"):
    """Reads every metadata file into `ParsedCaptions`."""
    found = _metadata_files(source.path)
    if not found:
        raise ValueError(
            f"The folder {source.path!r} is not an imagefolder: it holds no "
            f"{' or '.join(METADATA_FILES)}, neither directly nor in "
            f"{sorted(set(_SPLIT_FOLDERS))} sub-folders."
        )
    parsed = _caption_rows.ParsedCaptions(image_dir=source.path)
    for folder, split, name in found:
        path = os.path.join(source.path, folder, name)
        prefix = f"{folder}/" if folder else ""
        if name.endswith(".jsonl"):
            text = _caption_rows.read_text(path)
            json_lines._read_records(
                path, text, _file_name_first(options), parsed, prefix, split
            )
        else:
            table = caption_table._read(
                _caption_rows.Source(path), _file_name_first(options), "csv"
            )
            for image, captions in zip(table.names, table.references):
                for caption in captions:
                    parsed.add(prefix + image, caption, split)
    return parsed


def _file_name_first(options):
    # Hugging Face requires the column to be called `file_name`.
    return {"image_column": "file_name", **_not_none(options)}


def _not_none(options):
    return {key: value for key, value in options.items() if value is not None}


def _metadata_files(directory):
    """`(folder, split, file name)` of each metadata file, top level first."""
    for name in METADATA_FILES:
        if os.path.isfile(os.path.join(directory, name)):
            return [("", None, name)]
    found = []
    for folder in sorted(os.listdir(directory)):
        split = _SPLIT_FOLDERS.get(folder.lower())
        if split is None or not os.path.isdir(os.path.join(directory, folder)):
            continue
        for name in METADATA_FILES:
            if os.path.isfile(os.path.join(directory, folder, name)):
                found.append((folder, split, name))
                break
    return found
