"""What every caption-file reader of `load_captions` shares.

A reader turns one file into `ParsedCaptions`: image names (relative to
the image folder) in order of first appearance, the captions of each in
file order, optional split labels and counts of what was read. Text is
decoded here, strictly as UTF-8, so every reader names the line of a byte
that is not UTF-8; captions are checked here, so every reader rejects an
empty caption or one that cannot be stored as UTF-8 with the same words.
"""

import functools
import json
import os

# Column names recognised in a header, in order of preference.
IMAGE_COLUMNS = ("image", "image_name", "file_name", "filename", "path")
CAPTION_COLUMNS = ("caption", "text", "comment", "sentence", "raw")


class ParsedCaptions:
    """The captions one reader found in one file.

    Attributes:
        names: list of image names (or paths relative to the image folder),
            each once, in order of first appearance.
        references: list of lists of str, the captions of each image in
            file order.
        splits: list of split labels (str or `None`) parallel to `names`,
            or `None` when the file has no split.
        rows: int, caption rows read (references out plus rows skipped).
        notes: list of str, anything left out or repaired, with counts.
        image_dir: the folder the names are relative to when the caller
            gives none.
    """

    def __init__(self, image_dir):
        self.names = []
        self.references = []
        self.splits = None
        self.rows = 0
        self.notes = []
        self.image_dir = image_dir
        self._index = {}

    def add(self, name, caption, split=None):
        """Adds one caption of image `name`; rows of one image group."""
        index = self._index.get(name)
        if index is None:
            index = self._index[name] = len(self.names)
            self.names.append(name)
            self.references.append([])
            if split is not None or self.splits is not None:
                if self.splits is None:
                    self.splits = [None] * index
                self.splits.append(split)
        self.references[index].append(caption)
        self.rows += 1


class Source:
    """A caption file or folder, its text and JSON read once, on demand."""

    def __init__(self, path):
        self.path = path

    @property
    def is_dir(self):
        return os.path.isdir(self.path)

    @functools.cached_property
    def text(self):
        return read_text(self.path)

    @functools.cached_property
    def head(self):
        """The first 64 KiB, decoded leniently: for format detection only."""
        with open(self.path, "rb") as file:
            return file.read(65536).decode("utf-8-sig", errors="replace")

    @functools.cached_property
    def json(self):
        try:
            return json.loads(self.text)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"The caption file {self.path!r} is not valid JSON: {error}"
            ) from None

    @property
    def extension(self):
        return os.path.splitext(self.path)[1].lower()

    @property
    def json_with_images(self):
        """The content of a JSON file that is a dict with an `"images"`
        list (COCO's and Karpathy's forms), else `None`."""
        if self.is_dir or self.extension != ".json":
            return None
        content = self.json
        if isinstance(content, dict) and isinstance(
            content.get("images"), list
        ):
            return content
        return None


def read_text(path):
    """Reads a file as UTF-8 (a byte order mark is dropped).

    Raises:
        ValueError: naming the file, the line and the byte when the file is
            not UTF-8 text.
    """
    with open(path, "rb") as file:
        data = file.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise ValueError(
            f"The caption file {path!r} is not UTF-8 text: line {line}, "
            f"column {column} holds the byte 0x{data[error.start]:02x}. "
            "Save the file as UTF-8 (for example with "
            "`iconv -f latin1 -t utf-8`)."
        ) from None


def check_caption(caption, where):
    """Returns `caption` stripped, or raises a `ValueError` naming `where`.

    `where` names the file and the line or record, e.g. "Line 4 of
    'captions.csv'".
    """
    if not isinstance(caption, str):
        raise ValueError(
            f"{where} has a caption that is not a string. Received: {caption!r}"
        )
    text = caption.strip()
    if not text:
        raise ValueError(
            f"{where} has an empty caption. Expected a non-empty caption: "
            f"fix or delete that row. Received: {caption!r}"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"{where} has a caption that cannot be stored as UTF-8 text (a "
            f"lone surrogate {text[error.start]!r} at character "
            f"{error.start}). Received: {caption!r}"
        ) from None
    return text


def check_name(name, where, what="an image file name"):
    """Returns `name` stripped, or raises a `ValueError` naming `where`."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where} needs {what}. Received: {name!r}")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"{where} has {what} that cannot be stored as UTF-8 text. "
            f"Received: {name!r}"
        ) from None
    return name.strip()


def lines(text):
    """`(number, line)` pairs, numbered from 1, without line endings.

    Only `\\n` (with an optional `\\r`) ends a line, so a caption may hold
    any other character, `\\u2028` included.
    """
    for number, line in enumerate(text.split("\n"), start=1):
        yield number, line[:-1] if line.endswith("\r") else line


def column(header, requested, known, argument, path):
    """The index of a column of `header`, chosen by name.

    Args:
        header: list of str, the column names as written.
        requested: the name the caller asked for, or `None` to use the
            first of `known` present (case and spaces ignored).
        known: tuple of recognised names.
        argument: the argument that names the column, for the message.
        path: the file, for the message.
    """
    names = [str(name).strip().lower() for name in header]
    wanted = [requested.strip().lower()] if requested else list(known)
    for name in wanted:
        if name in names:
            return names.index(name)
    if requested:
        raise ValueError(
            f"The caption file {path!r} has no column {requested!r}. Its "
            f"columns: {list(header)}. Check `{argument}`."
        )
    raise ValueError(
        f"Cannot tell which column of the caption file {path!r} holds "
        f"the {argument.split('_')[0]}s: its columns are {list(header)}, "
        f"none of {list(known)}. Name it with `{argument}=`."
    )
