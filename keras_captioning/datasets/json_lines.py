"""Reads a JSON Lines file of `(image, caption)` records.

One JSON object a line; the caption field holds one string or a list of
strings (several captions of the image)::

    {"file_name": "0001.jpg", "text": "A red boat on a lake."}
    {"file_name": "0001.jpg", "text": "A boat."}
    {"file_name": "0002.jpg", "text": ["Two dogs.", "Dogs play in snow."]}

The image field is the first of `image`, `image_name`, `file_name`,
`filename`, `path` the first record holds, the caption field the first of
`caption`, `text`, `comment`, `sentence`, `raw` (or `image_column` /
`caption_column`); every record must hold both. Other fields are ignored,
blank lines skipped. A Hugging Face `imagefolder`'s `metadata.jsonl` has
this form.

Format `"jsonl"`; detection picks it for a `.jsonl` or `.ndjson` file, or
a file whose first line is a JSON object and which is not one JSON value.
Read through `keras_captioning.datasets.load_captions`.
"""

import json

from keras_captioning.datasets import _caption_rows

FORMATS = ("jsonl",)


def _detect(source):
    """`"jsonl"` if `source` looks like JSON Lines."""
    if source.is_dir:
        return None
    if source.extension in (".jsonl", ".ndjson"):
        return "jsonl"
    first = source.head.lstrip().split("\n", 1)[0].strip()
    if first.startswith("{") and first.endswith("}"):
        try:
            json.loads(first)
        except json.JSONDecodeError:
            return None
        rest = source.head.lstrip()[len(first) :].strip()
        if rest.startswith("{"):
            return "jsonl"
    return None


def _read(source, options, format="jsonl"):
    """Reads the records into `ParsedCaptions` (see `load_captions`)."""
    return _read_records(
        source.path, source.text, options, _caption_rows.ParsedCaptions(None)
    )


def _read_records(path, text, options, parsed, prefix="", split=None):
    """Adds the records of `text` to `parsed`; names get `prefix`."""
    image = caption = None
    for number, line in _caption_rows.lines(text):
        if not line.strip():
            continue
        where = f"Line {number} of {path!r}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{where} is not a JSON object: {error}. Received: {line!r}"
            ) from None
        if not isinstance(record, dict):
            raise ValueError(
                f"{where} is not a JSON object. Received: {line!r}"
            )
        if image is None:
            keys = list(record)
            image = keys[
                _caption_rows.column(
                    keys,
                    options.get("image_column"),
                    _caption_rows.IMAGE_COLUMNS,
                    "image_column",
                    path,
                )
            ]
            caption = keys[
                _caption_rows.column(
                    keys,
                    options.get("caption_column"),
                    _caption_rows.CAPTION_COLUMNS,
                    "caption_column",
                    path,
                )
            ]
        for key in (image, caption):
            if key not in record:
                raise ValueError(
                    f'{where} has no "{key}" field, which the first record '
                    f"has. Expected every record to hold {image!r} and "
                    f"{caption!r}. Received: {line!r}"
                )
        name = prefix + _caption_rows.check_name(record[image], where)
        captions = record[caption]
        if isinstance(captions, list):
            if not captions:
                raise ValueError(
                    f'{where} has an empty "{caption}" list. Expected at '
                    f"least one caption. Received: {line!r}"
                )
        else:
            captions = [captions]
        for text in captions:
            parsed.add(name, _caption_rows.check_caption(text, where), split)
    return parsed
