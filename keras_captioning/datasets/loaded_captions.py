"""The result of `load_captions`: `(image_paths, references)` and a record."""


class LoadedCaptions(tuple):
    """Image paths and their captions, with what was read and how.

    A tuple `(image_paths, references)`, so `paths, references =
    load_captions(...)` works as with every reader of
    `keras_captioning.datasets`, carrying attributes that say what was
    read.

    Attributes:
        image_paths: list of str, one file path per image.
        references: list of lists of str, the captions of each image in
            file order.
        format: str, the format the file was read as (`"coco"`, `"csv"`,
            ...).
        detected: bool, whether `format` was detected (`format="auto"`)
            rather than given.
        path: str, the caption file or folder read.
        split: the split these images are: a name (`"train"`, ...) or
            `None` for every image of the file.
        rows: int, caption rows read from the file for these images
            (equal to the number of references: nothing is dropped).
        notes: tuple of str, what was left out or repaired, with counts
            (COCO images without a caption, Flickr30k's repaired row,
            the sizes of the splits made by `split=`).
        available_splits: tuple of str, the split names the file labels
            its images with (empty for a file without a split).

    Example:

    >>> import keras_captioning
    >>> data = keras_captioning.datasets.LoadedCaptions(
    ...     ["a.jpg"], [["A dog.", "A brown dog."]], "csv", True, "c.csv")
    >>> paths, references = data
    >>> data.rows, data.format
    (2, 'csv')
    >>> data.describe()
    "1 images with 2 captions from 'c.csv', read as 'csv' (detected)."
    """

    def __new__(
        cls,
        image_paths,
        references,
        format,
        detected,
        path,
        split=None,
        notes=(),
        available_splits=(),
    ):
        self = super().__new__(cls, (image_paths, references))
        self.format = format
        self.detected = detected
        self.path = path
        self.split = split
        self.rows = sum(len(captions) for captions in references)
        self.notes = tuple(notes)
        self.available_splits = tuple(available_splits)
        return self

    @property
    def image_paths(self):
        return self[0]

    @property
    def references(self):
        return self[1]

    def describe(self):
        """One line: how many images and captions, from what, read how."""
        how = "detected" if self.detected else "given"
        which = "" if self.split is None else f" ({self.split} split)"
        line = (
            f"{len(self[0])} images{which} with {self.rows} captions from "
            f"{self.path!r}, read as {self.format!r} ({how})"
        )
        if self.notes:
            line += "; " + "; ".join(self.notes)
        return line + "."

    def __repr__(self):
        return f"<LoadedCaptions: {self.describe()}>"

    def __reduce__(self):
        return (
            LoadedCaptions,
            (
                self[0],
                self[1],
                self.format,
                self.detected,
                self.path,
                self.split,
                self.notes,
                self.available_splits,
            ),
        )
