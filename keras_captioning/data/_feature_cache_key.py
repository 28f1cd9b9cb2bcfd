"""The key under which `cache_features` stores an encoder's features."""

import hashlib
import json
import os

import keras
import numpy as np

from keras_captioning.data.read_image import full_size_decode

# Bump when the key's recipe changes, so old caches are not mistaken for
# new ones.
_KEY_FORMAT = 1


def feature_cache_key(encoder, array, paths, image_size, shard=(1, 0)):
    """Returns `(key, description)`.

    `array` or `paths` are the images this process caches, its shard when
    `shard`, `(num_shards, shard_index)`, has several.

    `key` is a short hex digest; `description` is a JSON-safe dict of what
    went into it, written beside the cache so a person can tell caches
    apart.
    """
    description = {
        "key_format": _KEY_FORMAT,
        "encoder": {
            "class_name": type(encoder).__name__,
            "config_sha256": _config_digest(encoder),
            "weights_sha256": _weights_digest(encoder),
            "num_weights": len(encoder.weights),
        },
        "images": (
            _array_description(array)
            if array is not None
            else _files_description(paths)
        ),
        "image_size": list(image_size) if image_size is not None else None,
    }
    if paths is not None and image_size is not None and not full_size_decode():
        # JPEGs are decoded at the DCT scale; caches written before that
        # (full decodes) keep their key, under `set_full_size_decode(True)`.
        description["jpeg_decode"] = "dct_scale"
    if shard[0] > 1:
        # The shard's own images are in the key already; this names which
        # shard it is, for the person reading the record.
        description["shard"] = {"num_shards": shard[0], "index": shard[1]}
    text = json.dumps(description, sort_keys=True)
    key = hashlib.sha256(text.encode()).hexdigest()[:24]
    # The name helps a person reading the record but stays out of the key:
    # automatic names (`functional_3`) change between sessions.
    description["encoder"]["name"] = encoder.name
    return key, description


def _config_digest(encoder):
    try:
        config = keras.saving.serialize_keras_object(encoder)
    except Exception:
        # A subclassed model without `get_config` still gets a key: its
        # weights tell it apart from other instances of its class.
        config = {"class_name": type(encoder).__qualname__}
    config = _canonical_names(config)
    text = json.dumps(config, sort_keys=True, default=_type_name)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical_names(config):
    """Replaces every layer name in `config` by its order of appearance.

    Names are found as the values of `"name"` keys; every string equal to
    one of them (such as the references between layers of a functional
    model) is replaced too, so the structure survives while the session's
    automatic numbering does not.
    """
    names = {}

    def collect(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "name" and isinstance(item, str):
                    names.setdefault(item, f"<name {len(names)}>")
                collect(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                collect(item)

    def replace(value):
        if isinstance(value, dict):
            return {key: replace(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [replace(item) for item in value]
        if isinstance(value, str):
            return names.get(value, value)
        return value

    collect(config)
    return replace(config)


def _type_name(value):
    # Objects JSON cannot write are described by type alone: their `repr`
    # may hold a memory address, which would change the key every session.
    return f"<{type(value).__qualname__}>"


def _weights_digest(encoder):
    digest = hashlib.sha256()
    for weight in encoder.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{value.shape}{value.dtype}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _array_description(array):
    digest = hashlib.sha256()
    digest.update(f"{array.shape}{array.dtype}".encode())
    digest.update(np.ascontiguousarray(array).data)
    return {
        "kind": "array",
        "count": len(array),
        "shape": list(array.shape),
        "sha256": digest.hexdigest(),
    }


def _files_description(paths):
    digest = hashlib.sha256()
    for path in paths:
        stat = os.stat(path)
        # `fsencode` gives a file name's own bytes, also for names that are
        # not UTF-8 (held as surrogate escapes); for UTF-8 names it equals
        # `str.encode()`, so their keys are unchanged.
        digest.update(os.fsencode(path))
        digest.update(f"\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return {
        "kind": "files",
        "count": len(paths),
        "first": paths[0],
        "last": paths[-1],
        "sha256": digest.hexdigest(),
    }
