"""Path checks shared by the readers of on-disk datasets in this subpackage."""

import os

# Enough names to recognise a pattern (wrong folder, wrong extension) without
# flooding the message when a whole split is missing.
_NAMES_SHOWN = 5


def as_path(value, name):
    """Returns `value` as a `str` path, or raises a `TypeError` naming it."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"`{name}` must be a path (str or os.PathLike). Received: "
            f"{name}={value!r} of type {type(value).__name__}"
        )
    return os.fspath(value)


def check_file(path, name):
    """Raises a `FileNotFoundError` naming the argument if `path` is absent."""
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"`{name}` must be an existing file. Received: {name}={path!r}, "
            "which does not exist or is not a file"
        )


def check_directory(path, name):
    """Raises a `FileNotFoundError` naming the argument if `path` is absent."""
    if not os.path.isdir(path):
        raise FileNotFoundError(
            f"`{name}` must be an existing directory. Received: "
            f"{name}={path!r}, which does not exist or is not a directory"
        )


def check_images_exist(image_paths, image_dir):
    """Raises a `FileNotFoundError` listing images missing under `image_dir`."""
    missing = [path for path in image_paths if not os.path.isfile(path)]
    if missing:
        shown = ", ".join(repr(path) for path in missing[:_NAMES_SHOWN])
        more = len(missing) - _NAMES_SHOWN
        raise FileNotFoundError(
            f"{len(missing)} of {len(image_paths)} images of the split are "
            f"missing under image_dir={image_dir!r}: {shown}"
            + (f" and {more} more" if more > 0 else "")
            + ". Check `image_dir`, or pass `check_files=False` to skip this "
            "check."
        )


def check_bool(value, name):
    """Raises a `TypeError` naming the argument unless `value` is a bool."""
    if not isinstance(value, bool):
        raise TypeError(
            f"`{name}` must be True or False. Received: {name}={value!r} of "
            f"type {type(value).__name__}"
        )
