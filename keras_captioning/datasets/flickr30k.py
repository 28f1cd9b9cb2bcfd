"""Reads Flickr30k's `results.csv`, the caption file of the Kaggle copy.

Three fields separated by `|`, with a space after each `|`, a header and
five rows per image (comment numbers 0 to 4)::

    image_name| comment_number| comment
    1000092795.jpg| 0| Two young guys with shaggy hair look at their hands .
    1000092795.jpg| 1| Two young , White males are outside near many bushes .

Fields are stripped of surrounding spaces; a caption may itself hold `|`
(everything after the second `|` is the caption). The public copy has one
broken row, `2199200615.jpg| 4   A dog runs across the grass .`, whose
comment number and comment are run together with no `|`: a row of two
fields whose second starts with a number and spaces is read as that
number and caption, and the repair is reported in the result's `notes`.
Any other row without three fields raises a `ValueError` naming its line.

Format `"flickr30k"`; detection picks it for a header starting
`image_name|`. Read through `keras_captioning.datasets.load_captions`.
"""

import re

from keras_captioning.datasets import _caption_rows

FORMATS = ("flickr30k",)
_RUN_TOGETHER = re.compile(r"\s*(\d+)\s+(\S.*)$")


def _detect(source):
    """`"flickr30k"` if `source` is a `|`-separated results file."""
    if source.is_dir:
        return None
    first = source.head.split("\n", 1)[0]
    fields = [field.strip().lower() for field in first.split("|")]
    if len(fields) == 3 and fields[0] in _caption_rows.IMAGE_COLUMNS + (
        "image_name",
    ):
        return "flickr30k"
    return None


def _read(source, options, format="flickr30k"):
    """Reads `results.csv` into `ParsedCaptions` (see `load_captions`)."""
    path = source.path
    parsed = _caption_rows.ParsedCaptions(image_dir=None)
    repaired = []
    header = None
    for number, line in _caption_rows.lines(source.text):
        if not line.strip():
            continue
        where = f"Line {number} of {path!r}"
        fields = [field.strip() for field in line.split("|", 2)]
        if header is None:
            header = fields
            if len(fields) != 3:
                raise ValueError(
                    f"{where} is not the header 'image_name| comment_number|"
                    f" comment'. Received: {line!r}"
                )
            continue
        if len(fields) == 2 and _RUN_TOGETHER.match(fields[1]):
            match = _RUN_TOGETHER.match(fields[1])
            fields = [fields[0], match.group(1), match.group(2)]
            repaired.append(number)
        if len(fields) != 3:
            raise ValueError(
                f"{where} has {len(fields)} '|'-separated field(s); expected"
                " 3: 'image_name| comment_number| comment'. Received: "
                f"{line!r}"
            )
        if not fields[1].isdigit():
            raise ValueError(
                f"{where} has a comment number that is not a number. "
                f"Received: {line!r}"
            )
        parsed.add(
            _caption_rows.check_name(fields[0], where),
            _caption_rows.check_caption(fields[2], where),
        )
    if repaired:
        shown = ", ".join(str(number) for number in repaired[:5])
        parsed.notes.append(
            f"repaired {len(repaired)} row(s) whose comment number and "
            f"comment ran together (line {shown})"
        )
    return parsed
