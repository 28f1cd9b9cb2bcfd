"""Reads COCO's own caption annotation files (2014 and 2017).

The files of cocodataset.org's `annotations_trainval2017.zip` (or 2014):
`annotations/captions_train2017.json`, `captions_val2017.json`, each one
split::

    {"info": {...}, "licenses": [...],
     "images": [{"id": 179765, "file_name": "000000179765.jpg", ...}, ...],
     "annotations": [{"image_id": 179765, "id": 38,
                      "caption": "A black Honda motorcycle parked ..."},
                     ...]}

`file_name` is relative to that split's image folder (`train2017/`), so
`image_dir` is that folder; when not given it is guessed from the file
name: `annotations/captions_train2017.json` gives `train2017/` beside
`annotations/`. Images come in the order of the `"images"` list, each
with its captions in the order of the `"annotations"` list, kept as
written (surrounding spaces removed). Images with no caption are left out
and counted in the result's `notes`. An annotation without `image_id` or
`caption`, an `image_id` with no image record, or an image record without
`id` or `file_name` raises a `ValueError` naming the record.

COCO's test images have no caption file; the Karpathy split of COCO is
read by `keras_captioning.datasets.karpathy`.

Format `"coco"`; detection picks it for a JSON object with `"images"` and
`"annotations"` lists. Read through
`keras_captioning.datasets.load_captions`.
"""

import os
import re

from keras_captioning.datasets import _caption_rows

FORMATS = ("coco",)
_SPLIT_FILE = re.compile(r"captions_([a-z]+\d{4})\.json$")


def _detect(source):
    """`"coco"` if `source` is a COCO caption annotation file."""
    content = source.json_with_images
    if content is not None and isinstance(content.get("annotations"), list):
        return "coco"
    return None


def _default_image_dir(path):
    """`<root>/train2017` for `<root>/annotations/captions_train2017.json`."""
    match = _SPLIT_FILE.search(os.path.basename(path))
    if match is None:
        return None
    root = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    return os.path.join(root, match.group(1))


def _read(source, options, format="coco"):
    """Reads the annotations into `ParsedCaptions` (see `load_captions`)."""
    path = source.path
    content = source.json
    if not (
        isinstance(content, dict)
        and isinstance(content.get("images"), list)
        and isinstance(content.get("annotations"), list)
    ):
        raise ValueError(
            f"The caption file {path!r} is not a COCO annotation file: "
            'expected an object with "images" and "annotations" lists.'
        )
    names = {}
    for index, record in enumerate(content["images"]):
        where = f"Image record {index} of {path!r}"
        if not isinstance(record, dict) or "id" not in record:
            raise ValueError(f'{where} has no "id". Received: {record!r}')
        name = _caption_rows.check_name(
            record.get("file_name"), where, 'a string "file_name"'
        )
        if record["id"] in names:
            raise ValueError(
                f"{where} repeats the image id {record['id']!r}. Expected "
                "one record per image."
            )
        names[record["id"]] = name
    captions = {image_id: [] for image_id in names}
    for index, record in enumerate(content["annotations"]):
        where = f"Annotation record {index} of {path!r}"
        if not isinstance(record, dict) or "image_id" not in record:
            raise ValueError(
                f'{where} has no "image_id". Expected the id of an image of '
                f'the "images" list. Received: {record!r}'
            )
        if record["image_id"] not in captions:
            raise ValueError(
                f"{where} has image_id={record['image_id']!r}, which no "
                'record of the "images" list has.'
            )
        captions[record["image_id"]].append(
            _caption_rows.check_caption(record.get("caption"), where)
        )
    parsed = _caption_rows.ParsedCaptions(image_dir=_default_image_dir(path))
    uncaptioned = 0
    for image_id, name in names.items():
        if not captions[image_id]:
            uncaptioned += 1
            continue
        for caption in captions[image_id]:
            parsed.add(name, caption)
    if uncaptioned:
        parsed.notes.append(
            f"left out {uncaptioned} of {len(names)} images with no caption"
        )
    return parsed
