"""Reads a CSV or TSV file of `(image, caption)` rows.

The form of Kaggle's Flickr8k `captions.txt` and of most home-made caption
files::

    image,caption
    1000268201_693b08cb0e.jpg,A child in a pink dress is climbing up stairs .
    1000268201_693b08cb0e.jpg,"A girl going into a wooden building ."
    1001773457_577c3a7d70.jpg,"A black dog and a spotted dog are fighting"

The first line is a header. The image column is the first of `image`,
`image_name`, `file_name`, `filename`, `path` it holds, the caption column
the first of `caption`, `text`, `comment`, `sentence`, `raw` (case and
surrounding spaces ignored), unless `image_column` / `caption_column` name
them. Other columns are ignored. Fields are parsed by Python's `csv`
module, so a caption holding the delimiter must be quoted, as Kaggle's
file does. Rows of one image may be anywhere in the file; they are grouped
in file order.

Formats `"csv"` (comma) and `"tsv"` (tab) are read here; format detection
picks `"tsv"` for a `.tsv` file or a header with a tab and no comma.
Read through `keras_captioning.datasets.load_captions`.
"""

import csv
import io

from keras_captioning.datasets import _caption_rows

FORMATS = ("csv", "tsv")
_DELIMITERS = {"csv": ",", "tsv": "\t"}


def _detect(source):
    """The format of `source` if it is a CSV or TSV table, else `None`."""
    if source.is_dir or source.extension in (".json", ".jsonl", ".ndjson"):
        return None
    first = source.head.split("\n", 1)[0]
    if source.extension == ".tsv" or ("\t" in first and "," not in first):
        return "tsv"
    if "," in first:
        return "csv"
    return None


def _read(source, options, format="csv"):
    """Reads the table into `ParsedCaptions` (see `load_captions`)."""
    path = source.path
    delimiter = _DELIMITERS[format]
    reader = csv.reader(
        io.StringIO(source.text, newline=""), delimiter=delimiter
    )
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(
            f"The caption file {path!r} is empty. Expected a header line "
            "such as 'image,caption' and one row per caption."
        ) from None
    image = _caption_rows.column(
        header,
        options.get("image_column"),
        _caption_rows.IMAGE_COLUMNS,
        "image_column",
        path,
    )
    caption = _caption_rows.column(
        header,
        options.get("caption_column"),
        _caption_rows.CAPTION_COLUMNS,
        "caption_column",
        path,
    )
    parsed = _caption_rows.ParsedCaptions(image_dir=None)
    needed = max(image, caption) + 1
    shown = delimiter.join(header)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise ValueError(
                f"Line {start} of {path!r} is not a valid {format.upper()} "
                f"row: {error}"
            ) from None
        where = f"Line {start} of {path!r}"
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) < needed:
            raise ValueError(
                f"{where} has {len(row)} column(s); expected at least "
                f"{needed}, as in the header {shown!r}. Received: {row!r}"
            )
        if len(row) > len(header):
            raise ValueError(
                f"{where} has {len(row)} columns, the header {shown!r} "
                f"{len(header)}: quote a caption that holds "
                f"{delimiter!r}. Received: {row!r}"
            )
        parsed.add(
            _caption_rows.check_name(row[image], where),
            _caption_rows.check_caption(row[caption], where),
        )
    return parsed
