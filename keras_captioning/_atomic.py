"""Writes a file or folder so that a kill never leaves half of it at its path.

`atomic_path(path)` hands the writer a temporary name in the same folder
(same file system, so a rename is atomic), then puts what was written at
`path` in one rename. Until that rename, whatever was at `path` before (a
user's previous model) stays intact; after it, the new one is complete. A
process killed with SIGKILL can only leave its temporary behind, a hidden
name starting with `.` and ending in the same suffix; the next write of the
same path removes such leftovers.

A folder replaces a folder in one step with Linux's
`renameat2(RENAME_EXCHANGE)`; elsewhere the old folder is first moved aside,
so a kill in the instant between the two renames leaves it under its
hidden name `.<name>.old-<random>` rather than at `path`.
"""

import contextlib
import ctypes
import ctypes.util
import glob
import os
import secrets
import shutil
import tempfile

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_TEMPORARY_TAG = ".partial-"


def _suffix(name):
    # `captioner.keras` -> `.keras`; `model.weights.h5` -> `.weights.h5`;
    # Keras and the converters check the name's ending.
    stem, dot, rest = name.partition(".")
    return dot + rest if stem else ""


def _temporary_name(path):
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(
        directory,
        f".{name}{_TEMPORARY_TAG}{secrets.token_hex(4)}{_suffix(name)}",
    )


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def remove_leftovers(path):
    """Removes the temporaries a killed write of `path` left behind."""
    directory, name = os.path.split(os.path.abspath(path))
    pattern = glob.escape(os.path.join(directory, f".{name}"))
    for leftover in glob.glob(pattern + _TEMPORARY_TAG + "*"):
        _remove(leftover)
    for leftover in glob.glob(pattern + ".old-*"):
        _remove(leftover)


def _exchange(first, second):
    """Swaps two paths in one step; returns False where unsupported."""
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(
        _AT_FDCWD,
        os.fsencode(first),
        _AT_FDCWD,
        os.fsencode(second),
        _RENAME_EXCHANGE,
    )
    return result == 0


def _sync(path):
    if os.path.isfile(path):
        with open(path, "rb") as file:
            os.fsync(file.fileno())


def publish(temporary, path):
    """Moves the finished `temporary` to `path` in one rename."""
    _sync(temporary)
    if os.path.isdir(temporary) and os.path.isdir(path):
        if _exchange(temporary, path):
            # `temporary` now holds the previous folder.
            _remove(temporary)
            return
        aside = os.path.join(
            os.path.dirname(os.path.abspath(path)),
            f".{os.path.basename(path)}.old-{secrets.token_hex(4)}",
        )
        os.replace(path, aside)
        os.replace(temporary, path)
        _remove(aside)
        return
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    os.replace(temporary, path)


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path to write; moves it to `path` on success.

    The temporary sits in `path`'s folder and ends like `path` (Keras
    checks that a model file ends in `.keras`). If the body raises,
    the temporary is removed and `path` is untouched.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    remove_leftovers(path)
    temporary = _temporary_name(path)
    try:
        yield temporary
    except BaseException:
        _remove(temporary)
        raise
    publish(temporary, path)


def write_text(path, text):
    """Writes `text` to `path` (UTF-8) through `atomic_path`."""
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as file:
            file.write(text)


def save_model(save, filepath, overwrite=True, **kwargs):
    """Runs `keras.Model.save` (`save`) through `atomic_path`.

    In a multi-process job only process 0 writes `filepath`. The others
    save into a temporary folder they delete, without touching
    `filepath`: reading a variable spread over the processes is a
    collective on JAX, which every process must run or process 0 waits
    for ever.
    """
    from keras_captioning.distribution import process_index

    if process_index() != 0:
        with tempfile.TemporaryDirectory() as folder:
            save(os.path.join(folder, "model.keras"), overwrite=True, **kwargs)
        return None
    if not isinstance(filepath, (str, os.PathLike)) or (
        not overwrite and os.path.exists(filepath)
    ):
        # Keras's own handling: its prompt, or its error for the type.
        return save(filepath, overwrite=overwrite, **kwargs)
    with atomic_path(filepath) as temporary:
        return save(temporary, overwrite=True, **kwargs)
