"""Reads Flickr8k from the text files it is distributed with.

Flickr8k comes as a folder of 8,091 JPEG images (`Flicker8k_Dataset/` in the
original archive, spelled so) and a folder of text files, of which this
reader uses four:

- `Flickr8k.token.txt`: one caption a line, `<image>#<k>\\t<caption>`, with
  `k` from 0 to 4, so five captions per image;
- `Flickr_8k.trainImages.txt` (6,000 images), `Flickr_8k.devImages.txt`
  (1,000) and `Flickr_8k.testImages.txt` (1,000): one image file name a line.

Only the images a split file lists are read, so stray entries of the token
file (it has captions for a `2258277193_586949ec62.jpg.1` that no split lists)
are ignored. The same splits are in Karpathy's `dataset_flickr8k.json`, read
by `keras_captioning.datasets.karpathy`.

`keras_captioning.datasets.load_captions` reads the token file too (format
`"flickr8k"`, detected for a file whose first line is
`<image>#<k><TAB><caption>`, or a folder holding `Flickr8k.token.txt`); the
split files beside it, where present, give the split labels.
"""

import os
import re

from keras_captioning import _validation
from keras_captioning.datasets import _caption_rows
from keras_captioning.datasets import _files

FORMATS = ("flickr8k",)
_TOKEN_LINE = re.compile(r"[^\t#]+#\d+\t")

TOKEN_FILE = "Flickr8k.token.txt"
SPLIT_FILES = {
    "train": "Flickr_8k.trainImages.txt",
    "validation": "Flickr_8k.devImages.txt",
    "test": "Flickr_8k.testImages.txt",
}
_SPLIT_ALIASES = {"val": "validation", "dev": "validation"}


def load_split(text_dir, image_dir, split="train", check_files=True):
    """Reads one split of Flickr8k.

    Args:
        text_dir: str or path-like. Folder holding `Flickr8k.token.txt` and
            the three `Flickr_8k.*Images.txt` split files.
        image_dir: str or path-like. Folder holding the JPEG images, e.g.
            `"Flicker8k_Dataset"`.
        split: str. `"train"`, `"validation"` (or `"val"`, `"dev"`) or
            `"test"`. Defaults to `"train"`.
        check_files: bool. Whether to check that every image of the split
            exists in `image_dir`, raising a `FileNotFoundError` that lists
            the first missing ones. Defaults to `True`.

    Returns:
        Tuple `(image_paths, references)`: `image_paths` is a list of str in
        the order of the split file, and `references` a list of the same
        length whose entries are lists of all the captions of that image, in
        the order of their `#k` numbers, with surrounding whitespace removed.

    Example:

    >>> import os, tempfile
    >>> import keras_captioning
    >>> folder = tempfile.mkdtemp()
    >>> def write(name, text):
    ...     with open(os.path.join(folder, name), "w") as file:
    ...         file.write(text)
    >>> write("Flickr8k.token.txt",
    ...       "a.jpg#0\\tA dog runs .\\na.jpg#1\\tA dog .\\n")
    >>> write("Flickr_8k.testImages.txt", "a.jpg\\n")
    >>> paths, references = keras_captioning.datasets.flickr8k.load_split(
    ...     folder, folder, split="test", check_files=False)
    >>> os.path.basename(paths[0]), references[0]
    ('a.jpg', ['A dog runs .', 'A dog .'])
    """
    text_dir = _files.as_path(text_dir, "text_dir")
    image_dir = _files.as_path(image_dir, "image_dir")
    _files.check_bool(check_files, "check_files")
    split = _validation.check_split(split, _SPLIT_ALIASES)
    _files.check_directory(text_dir, "text_dir")
    token_path = os.path.join(text_dir, TOKEN_FILE)
    split_path = os.path.join(text_dir, SPLIT_FILES[split])
    for path in (token_path, split_path):
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"text_dir={text_dir!r} has no {os.path.basename(path)!r}. "
                f"`text_dir` must hold {TOKEN_FILE!r} and the split files "
                f"{sorted(SPLIT_FILES.values())}"
            )
    if check_files:
        _files.check_directory(image_dir, "image_dir")

    names = _read_split(split_path)
    captions = _read_captions(token_path)
    uncaptioned = [name for name in names if name not in captions]
    if uncaptioned:
        raise ValueError(
            f"{len(uncaptioned)} images listed in {split_path!r} have no "
            f"caption in {token_path!r}, e.g. {uncaptioned[:5]}"
        )
    image_paths = [os.path.join(image_dir, name) for name in names]
    if check_files:
        _files.check_images_exist(image_paths, image_dir)
    references = [
        [caption for _, caption in sorted(captions[name].items())]
        for name in names
    ]
    return image_paths, references


def _detect(source):
    """`"flickr8k"` for a token file or a folder holding one."""
    if source.is_dir:
        if os.path.isfile(os.path.join(source.path, TOKEN_FILE)):
            return "flickr8k"
        return None
    first = source.head.lstrip().split("\n", 1)[0]
    return "flickr8k" if _TOKEN_LINE.match(first) else None


def _read(source, options, format="flickr8k"):
    """Reads the token file into `ParsedCaptions` (see `load_captions`).

    Images come in order of first appearance, each with its captions in
    `#k` order; split labels come from the split files beside the token
    file (images no split file lists have none).
    """
    token_path = source.path
    if source.is_dir:
        token_path = os.path.join(source.path, TOKEN_FILE)
    text_dir = os.path.dirname(token_path)
    labels = {}
    for split, name in SPLIT_FILES.items():
        split_path = os.path.join(text_dir, name)
        if os.path.isfile(split_path):
            for image in _read_split(split_path):
                labels.setdefault(image, split)
    parsed = _caption_rows.ParsedCaptions(image_dir=None)
    for name, captions in _read_captions(token_path).items():
        for _, caption in sorted(captions.items()):
            parsed.add(name, caption, labels.get(name) if labels else None)
    return parsed


def _read_split(path):
    names = [
        line.strip()
        for _, line in _caption_rows.lines(_caption_rows.read_text(path))
    ]
    names = [name for name in names if name]
    if not names:
        raise ValueError(f"The split file {path!r} lists no image.")
    return names


def _read_captions(path):
    """Maps image names to `{k: caption}` from a `Flickr8k.token.txt`."""
    captions = {}
    for number, line in _caption_rows.lines(_caption_rows.read_text(path)):
        if not line.strip():
            continue
        key, tab, caption = line.partition("\t")
        name, hash_sign, k = key.strip().rpartition("#")
        if not (tab and hash_sign and name and k.isascii() and k.isdigit()):
            raise ValueError(
                f"Line {number} of {path!r} is not "
                f"'<image>#<k><TAB><caption>'. Received: {line!r}"
            )
        if not caption.strip():
            raise ValueError(
                f"Line {number} of {path!r} has an empty caption. "
                f"Received: {line!r}"
            )
        image_captions = captions.setdefault(name, {})
        if int(k) in image_captions:
            raise ValueError(
                f"Line {number} of {path!r} repeats caption #{k} of "
                f"{name!r}. Received: {line!r}"
            )
        image_captions[int(k)] = caption.strip()
    return captions
