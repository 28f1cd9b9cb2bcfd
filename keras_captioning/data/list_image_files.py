"""Lists the image files given as files and folders."""

import os

# The endings (in any case) that make a file of a folder an image file.
IMAGE_EXTENSIONS = tuple(".jpg .jpeg .png .bmp .gif .tif .tiff .webp".split())


def list_image_files(paths):
    """Lists image files given as files, folders of images, or both.

    How `keras-captioning caption` reads its arguments. A folder gives its
    files whose names end in an image extension (`.jpg`, `.jpeg`, `.png`,
    `.bmp`, `.gif`, `.tif`, `.tiff`, `.webp`, in any case), sorted by
    name; its subfolders are not searched. Any other path is kept as
    given, whether or not it exists, so that a missing or unreadable file
    is reported when it is read (`read_image` raises `ImageFileError`).

    Args:
        paths: list of str or path-like: image files and folders.

    Returns:
        List of the image files, in the order given.

    Raises:
        TypeError: if `paths` is one path rather than a list of paths.

    Example:

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> for name in ("b.png", "a.JPG", "notes.txt"):
    ...     open(os.path.join(folder, name), "wb").close()
    >>> files = keras_captioning.data.list_image_files([folder, "c.webp"])
    >>> [os.path.basename(path) for path in files]
    ['a.JPG', 'b.png', 'c.webp']
    """
    if isinstance(paths, (str, bytes, os.PathLike)):
        raise TypeError(
            "`paths` must be a list of files and folders, not one path. "
            f"Received: paths={paths!r}"
        )
    files = []
    for path in paths:
        if not os.path.isdir(path):
            files.append(path)
            continue
        files += sorted(
            os.path.join(path, name)
            for name in os.listdir(path)
            if name.lower().endswith(IMAGE_EXTENSIONS)
            and os.path.isfile(os.path.join(path, name))
        )
    return files
