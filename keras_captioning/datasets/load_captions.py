"""One entry point for caption files in every common form."""

import logging
import os

from keras_captioning.datasets import _caption_rows
from keras_captioning.datasets import _files
from keras_captioning.datasets import _formats
from keras_captioning.datasets.loaded_captions import LoadedCaptions
from keras_captioning.datasets.split_images import split_images

_SPLIT_NAMES = {
    "train": "train",
    "validation": "validation",
    "val": "validation",
    "dev": "validation",
    "test": "test",
    "restval": "restval",
}
_logger = logging.getLogger("keras_captioning.datasets")


def load_captions(
    path,
    image_dir=None,
    split=None,
    format="auto",
    image_column=None,
    caption_column=None,
    use_restval=True,
    seed=0,
    check_files=True,
):
    """Reads image paths and their captions from a caption file of any form.

    Reads, by `format`:

    - `"karpathy"`: a Karpathy split file (`dataset_coco.json`, ...).
    - `"coco"`: COCO's `captions_train2017.json` / `captions_val2014.json`
      (`file_name` relative to that split's image folder; images with no
      caption are left out and counted in `notes`).
    - `"flickr8k"`: Flickr8k's `Flickr8k.token.txt` (or its folder); the
      split files beside it give the splits.
    - `"csv"` / `"tsv"`: a table of `(image, caption)` rows with a header,
      e.g. Kaggle's Flickr8k `captions.txt`.
    - `"jsonl"`: JSON Lines records with an image and a caption field.
    - `"flickr30k"`: Flickr30k's `|`-separated `results.csv`.
    - `"imagefolder"`: a Hugging Face `imagefolder` directory with a
      `metadata.jsonl` or `metadata.csv` (optionally per split folder).

    The modules of the same names in `keras_captioning.datasets` describe
    each form. With `format="auto"` the form is detected from the file; the
    result's `format` and `detected` attributes say which was chosen (and
    the `keras_captioning.datasets` logger logs it at INFO level). Rows of
    one image are grouped into its list of references in file order.

    Bad input raises a `ValueError` naming the file, the line or record and
    what was expected: an empty caption, a row with too few columns, a COCO
    annotation without `image_id` or whose `image_id` has no image record,
    a file that is not UTF-8. No row is skipped silently: the only images
    left out are COCO's images with no caption, counted in `notes`.

    Args:
        path: str or path-like. The caption file, or the folder of an
            `imagefolder` (or of Flickr8k's text files).
        image_dir: str or path-like, or `None`. Folder the image names of
            the file are relative to. `None` uses the form's usual place:
            for COCO the split's folder beside `annotations/`
            (`train2017/` for `annotations/captions_train2017.json`), for
            an `imagefolder` the folder itself, otherwise the folder of
            the caption file. Defaults to `None`.
        split: `None`, a split name, or a dict of splits to hold out.
            `None`: every image of the file. A name (`"train"`,
            `"validation"` (or `"val"`, `"dev"`), `"test"`, `"restval"`):
            the images the file labels so (Karpathy files, Flickr8k's
            split files, `imagefolder` split folders). A dict such as
            `{"validation": 0.1, "test": 500}`: hold out a fraction or a
            number of images per split, drawn by image with `seed`, the
            rest being `"train"`; then the result is a dict of results
            by split name, each with a note giving the sizes of all
            splits. Defaults to `None`.
        format: str. `"auto"` or one of the formats above. Defaults to
            `"auto"`.
        image_column: str or `None`. The column (field) of a CSV, TSV,
            JSON Lines or `imagefolder` file holding image names; `None`
            finds `image`, `image_name`, `file_name`, `filename` or `path`.
            Defaults to `None`.
        caption_column: str or `None`. The column (field) holding
            captions; `None` finds `caption`, `text`, `comment`,
            `sentence` or `raw`. Defaults to `None`.
        use_restval: bool. Whether `split="train"` of a Karpathy file also
            returns its `"restval"` images. Defaults to `True`.
        seed: int. Seed of the draw when `split` is a dict. Defaults to
            `0`.
        check_files: bool. Whether to check that every image exists,
            raising a `FileNotFoundError` listing the first missing ones
            (`keras_captioning.data.find_bad_images` also finds files that
            are not readable images). Defaults to `True`.

    Returns:
        A `keras_captioning.datasets.LoadedCaptions`: the tuple
        `(image_paths, references)` (a list of str paths and a list of the
        same length of lists of str captions) with the attributes
        `format`, `detected`, `path`, `split`, `rows`, `notes` and the
        method `describe()`. A dict of them by split name when `split` is
        a dict.

    Example:

    >>> import os, tempfile
    >>> import keras_captioning
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "captions.txt"), "w") as file:
    ...     _ = file.write('image,caption\\n'
    ...                    'a.jpg,"A dog, running."\\n'
    ...                    'b.jpg,A cat.\\n'
    ...                    'a.jpg,A dog.\\n')
    >>> data = keras_captioning.datasets.load_captions(
    ...     os.path.join(folder, "captions.txt"), check_files=False)
    >>> data.format, data.detected
    ('csv', True)
    >>> paths, references = data
    >>> [os.path.basename(path) for path in paths], references
    (['a.jpg', 'b.jpg'], [['A dog, running.', 'A dog.'], ['A cat.']])
    """
    path = _files.as_path(path, "path")
    if image_dir is not None:
        image_dir = _files.as_path(image_dir, "image_dir")
    _files.check_bool(use_restval, "use_restval")
    _files.check_bool(check_files, "check_files")
    split_name = _check_split(split)
    if not isinstance(format, str) or (
        format != "auto" and format not in _formats.FORMATS
    ):
        raise ValueError(
            f"`format` must be 'auto' or one of {sorted(_formats.FORMATS)}. "
            f"Received: format={format!r}"
        )
    for name, value in (
        ("image_column", image_column),
        ("caption_column", caption_column),
    ):
        if value is not None and not isinstance(value, str):
            raise TypeError(
                f"`{name}` must be a column name (str) or None. Received: "
                f"{name}={value!r} of type {type(value).__name__}"
            )
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"`path` must be an existing caption file or folder. Received: "
            f"path={path!r}, which does not exist"
        )

    source = _caption_rows.Source(path)
    detected = format == "auto"
    if detected:
        format = _formats.detect(source)
    elif source.is_dir and format != "flickr8k":
        if format != "imagefolder":
            raise ValueError(
                f"`path` is a folder, which format={format!r} cannot read. "
                "Pass the caption file, or format='imagefolder'. Received: "
                f"path={path!r}"
            )
    elif not source.is_dir and format == "imagefolder":
        raise ValueError(
            "format='imagefolder' reads a folder holding metadata.jsonl or "
            f"metadata.csv. Received: path={path!r}, a file; pass its folder "
            "or format='jsonl' / 'csv'."
        )
    options = {"image_column": image_column, "caption_column": caption_column}
    parsed = _formats.FORMATS[format]._read(source, options, format)
    if not parsed.names:
        raise ValueError(
            f"The caption file {path!r} (read as {format!r}) holds no "
            "caption. Expected at least one (image, caption) row."
        )
    if image_dir is None:
        image_dir = parsed.image_dir or (
            path if source.is_dir else os.path.dirname(path)
        )
    _logger.info(
        "Reading %r as %r (%s).",
        path,
        format,
        "detected" if detected else "given",
    )

    def result(names, references, split_label, notes):
        paths = [os.path.join(image_dir, name) for name in names]
        if check_files:
            _files.check_directory(image_dir, "image_dir")
            _files.check_images_exist(paths, image_dir)
        return LoadedCaptions(
            paths,
            references,
            format,
            detected,
            path,
            split_label,
            notes,
            sorted({label for label in parsed.splits or () if label}),
        )

    if isinstance(split, dict):
        splits = split_images(parsed.names, parsed.references, split, seed)
        sizes = ", ".join(
            f"{len(names)} {name}" for name, (names, _) in splits.items()
        )
        note = f"split by image with seed {seed}: {sizes} images"
        _logger.info("%s", note)
        return {
            name: result(names, references, name, [*parsed.notes, note])
            for name, (names, references) in splits.items()
        }
    if split_name is None:
        return result(parsed.names, parsed.references, None, parsed.notes)
    if parsed.splits is None:
        raise ValueError(
            f"The caption file {path!r} (read as {format!r}) has no split, "
            f"so split={split!r} cannot be chosen. Pass split=None for every "
            "image, or a dict of splits to hold out, e.g. "
            "split={'validation': 0.1, 'test': 0.1}."
        )
    labels = {split_name}
    if split_name == "train" and use_restval:
        labels.add("restval")
    chosen = [
        index for index, label in enumerate(parsed.splits) if label in labels
    ]
    if not chosen:
        present = sorted({str(label) for label in parsed.splits})
        raise ValueError(
            f"No image of split={split!r} in {path!r}: its images are "
            f"labelled {present}. Choose one of those splits."
        )
    return result(
        [parsed.names[index] for index in chosen],
        [parsed.references[index] for index in chosen],
        split_name,
        parsed.notes,
    )


def _check_split(split):
    if split is None or isinstance(split, dict):
        return None
    if not isinstance(split, str):
        raise TypeError(
            "`split` must be None, a split name or a dict of splits to hold "
            f"out. Received: split={split!r} of type {type(split).__name__}"
        )
    if split not in _SPLIT_NAMES:
        raise ValueError(
            "`split` must be None, 'train', 'validation' (or 'val', 'dev'), "
            "'test', 'restval' or a dict of splits to hold out. Received: "
            f"split={split!r}"
        )
    return _SPLIT_NAMES[split]
