"""The caption-file readers `load_captions` knows, and format detection.

Each reader module names the formats it reads in `FORMATS` and has two
hooks: `_detect(source)`, returning one of its formats or `None`, and
`_read(source, options, format)`, returning `ParsedCaptions`. Detection asks
them in the order below (the first that claims the file wins), so the
specific forms come before the general CSV table.
"""

from keras_captioning.datasets import caption_table
from keras_captioning.datasets import coco
from keras_captioning.datasets import flickr8k
from keras_captioning.datasets import flickr30k
from keras_captioning.datasets import imagefolder
from keras_captioning.datasets import json_lines
from keras_captioning.datasets import karpathy

READERS = (
    karpathy,
    coco,
    imagefolder,
    flickr8k,
    json_lines,
    flickr30k,
    caption_table,
)
FORMATS = {name: module for module in READERS for name in module.FORMATS}


def detect(source):
    """The name of the format of `source`, or a `ValueError` saying why not."""
    invalid_json = None
    for module in READERS:
        try:
            name = module._detect(source)
        except ValueError as error:  # A .json file that is not JSON.
            invalid_json = invalid_json or error
            continue
        if name is not None:
            return name
    hint = f" ({invalid_json})" if invalid_json is not None else ""
    raise ValueError(
        f"Cannot tell the form of the caption file {source.path!r}{hint}. "
        f"Expected one of {sorted(FORMATS)}: pass `format=` to choose one "
        "(the 'Bring your own data' page of the documentation shows each)."
    )
