"""A built-in captioning dataset of coloured shapes, generated on the fly.

Each image is a small RGB picture of one to three geometric shapes on a dark,
noisy background. Every shape has a kind (circle, square, triangle or cross),
a colour (red, green, blue, yellow, purple or white, all different within an
image) and a size (small or large), and sits in its own cell of an invisible
3x3 grid, so objects never overlap and relations such as "left of" are never
in doubt. Thin grey lines and grey speckles are scattered behind the shapes;
no caption mentions them.

Every image has five reference captions, drawn from a pool of differently
phrased templates for its object count, as COCO's annotators would phrase
them differently. For a small red circle left of a large blue square:

- "a small red circle left of a large blue square"
- "there is a blue square to the right of a red circle"
- "a red circle and a blue square"
- "two shapes in red and blue"
- "the red circle is left of the blue square"

Captions are lower case words separated by single spaces, without
punctuation, at most 13 words long, from a vocabulary of 35 words. They name
colours, kinds, sizes, counts and positions, and the templates keep
content-free filler short, so a caption cannot be guessed without looking.

The data is generated, never downloaded: 5,000 images of 64x64 take about
half a second of CPU time. The same arguments always give the same images
and captions (for a given NumPy version). The layout of a scene (which
objects in which cells) decides its split through a fixed hash, so no layout
appears in two splits, whatever seeds the splits are drawn with. The first
`k` images of a split are the same whatever `num_images` is, so a small run
sees a prefix of the full data.

Reference scores, BLEU-4 by `keras_captioning.metrics.corpus_bleu` against
the references of the default test split (`load_data("test")`):

- Blind baseline: always answering the most common training caption
  (`load_data("train")`), "two shapes in red and yellow": 0.142 (BLEU-1
  0.516). A model that ignores the image decodes one constant caption;
  the best of the 300 most common training captions scores 0.236.
- Perfect reader: for every image, the true caption of the first template
  for its object count: 0.924.
- Trained model: `examples/train_shapes.py` with its defaults (attention
  decoder, about two minutes of training on two CPU cores): 0.893.
"""

import numbers

from keras_captioning.datasets import _shape_captions
from keras_captioning.datasets import _shape_drawing
from keras_captioning.datasets import _shape_scenes

SPLIT_SIZES = {"train": 4000, "validation": 500, "test": 500}
MIN_IMAGE_SIZE = 48

_SPLIT_ALIASES = {"val": "validation"}


def load_data(split="train", num_images=None, image_size=64, seed=0):
    """Generates one split of the shapes captioning dataset.

    Args:
        split: str. `"train"`, `"validation"` (or `"val"`) or `"test"`.
            Defaults to `"train"`.
        num_images: int or `None`. Number of images to generate. `None` gives
            the split's default size, from `SPLIT_SIZES`: 4,000 for train and
            500 each for validation and test. Defaults to `None`.
        image_size: int, at least 48. Height and width of the images in
            pixels. The scenes and captions do not depend on it, only the
            drawing does. Defaults to `64`.
        seed: non-negative int. Seed of the generator; the same seed, split,
            `num_images` and `image_size` always give the same data.
            Defaults to `0`.

    Returns:
        Tuple `(images, references)`: `images` is a NumPy `uint8` array of
        shape `(num_images, image_size, image_size, 3)` and `references` a
        list of `num_images` lists, each of five caption strings describing
        the image at the same index.

    Example:

    >>> import keras_captioning
    >>> images, references = keras_captioning.datasets.shapes.load_data(
    ...     "train", num_images=8
    ... )
    >>> images.shape, images.dtype.name
    ((8, 64, 64, 3), 'uint8')
    >>> len(references), len(references[0])
    (8, 5)
    """
    split = _check_split(split)
    num_images = _check_int(
        num_images, "num_images", 1, "a positive integer or None", none_ok=True
    )
    image_size = _check_int(
        image_size,
        "image_size",
        MIN_IMAGE_SIZE,
        f"an integer of at least {MIN_IMAGE_SIZE} (smaller shapes cannot be "
        "told apart)",
    )
    seed = _check_int(seed, "seed", 0, "a non-negative integer")
    if num_images is None:
        num_images = SPLIT_SIZES[split]
    scenes = _shape_scenes.sample_scenes(num_images, split, seed)
    images = _shape_drawing.render(scenes, image_size, seed, split)
    return images, _shape_captions.describe(scenes)


def _check_split(split):
    if not isinstance(split, str):
        raise TypeError(
            "`split` must be a string: 'train', 'validation' or 'test'. "
            f"Received: split={split!r} of type {type(split).__name__}"
        )
    name = _SPLIT_ALIASES.get(split, split)
    if name not in SPLIT_SIZES:
        raise ValueError(
            "`split` must be 'train', 'validation' (or 'val') or 'test'. "
            f"Received: split={split!r}"
        )
    return name


def _check_int(value, name, minimum, expected, none_ok=False):
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be {expected}. Received: {name}={value!r} of type "
            f"{type(value).__name__}"
        )
    if value < minimum:
        raise ValueError(
            f"`{name}` must be {expected}. Received: {name}={value!r}"
        )
    return int(value)
