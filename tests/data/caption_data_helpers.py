"""Helpers shared by the `data` tests.

Image `i` of `make_images` is filled with the value `10 * i`, and its
references read `"I<i> r<j>."`, so any batch row can be traced back to the
image and reference it came from.
"""

import numpy as np
from PIL import Image

from keras_captioning.text import CaptionTokenizer

MAX_IMAGES = 20
MAX_REFERENCES = 8


def make_tokenizer():
    words = [f"i{i}" for i in range(MAX_IMAGES)]
    words += [f"r{j}" for j in range(MAX_REFERENCES)]
    return CaptionTokenizer(words, max_length=4)


def make_images(num_images, height=6, width=5):
    values = 10 * np.arange(num_images, dtype="uint8")
    return np.broadcast_to(
        values[:, None, None, None], (num_images, height, width, 3)
    ).copy()


def make_references(num_references):
    return [
        [f"I{i} r{j}." for j in range(count)]
        for i, count in enumerate(num_references)
    ]


def parse_rows(images, token_ids, tokenizer):
    """Returns `(image, reference)` index pairs, checking they agree."""
    pairs = []
    for image, caption in zip(
        images, tokenizer.detokenize(token_ids), strict=True
    ):
        image_word, reference_word = caption.split()
        index = int(image_word[1:])
        assert np.all(image == 10 * index), "a row mixes two images"
        pairs.append((index, int(reference_word[1:])))
    return pairs


def write_image(path, array):
    """Writes a uint8 array as an image file; the suffix picks the format."""
    mode = "L" if array.ndim == 2 else "RGB"
    # Full-resolution chroma keeps a tiny JPEG within a few levels.
    Image.fromarray(array, mode).save(path, quality=95, subsampling=0)
    return str(path)


def gradient_image(height, width, seed=0):
    """A smooth colour image: JPEG keeps it within a few levels."""
    rows = np.linspace(0, 1, height)[:, None]
    columns = np.linspace(0, 1, width)[None, :]
    phase = seed * 0.7
    channels = [
        0.5 + 0.4 * np.sin(3 * rows + 2 * columns + phase + shift)
        for shift in (0.0, 2.0, 4.0)
    ]
    return np.round(255 * np.stack(channels, axis=-1)).astype("uint8")
