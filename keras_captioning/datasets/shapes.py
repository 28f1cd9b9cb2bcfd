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

N-gram metrics reward the template as much as the content. Because the data
knows what each picture holds, `score_content` checks what a caption states:
`load_data(..., return_scenes=True)` also returns each scene's objects, and
`score_content(captions, scenes)` gives object precision, recall and F1,
the share of true relations, locations and counts, and the share of
captions that are entirely right.
"""

from keras_captioning import _validation
from keras_captioning.datasets import _shape_captions
from keras_captioning.datasets import _shape_content
from keras_captioning.datasets import _shape_drawing
from keras_captioning.datasets import _shape_scenes

SPLIT_SIZES = {"train": 4000, "validation": 500, "test": 500}
MIN_IMAGE_SIZE = 48

_SPLIT_ALIASES = {"val": "validation"}


def load_data(
    split="train", num_images=None, image_size=64, seed=0, return_scenes=False
):
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
        return_scenes: bool. Also return what each image holds, for
            `score_content`. Defaults to `False`.

    Returns:
        Tuple `(images, references)`: `images` is a NumPy `uint8` array of
        shape `(num_images, image_size, image_size, 3)` and `references` a
        list of `num_images` lists, each of five caption strings describing
        the image at the same index. With `return_scenes=True`, the tuple
        `(images, references, scenes)`: `scenes` is a list with one list per
        image of its objects in reading order (top row first), each a dict
        with the keys `"size"`, `"colour"`, `"kind"` (the caption words)
        and `"row"`, `"column"` (its cell of the 3x3 grid, 0 to 2).

    Example:

    >>> import keras_captioning
    >>> images, references = keras_captioning.datasets.shapes.load_data(
    ...     "train", num_images=8
    ... )
    >>> images.shape, images.dtype.name
    ((8, 64, 64, 3), 'uint8')
    >>> len(references), len(references[0])
    (8, 5)
    >>> _, _, scenes = keras_captioning.datasets.shapes.load_data(
    ...     "train", num_images=1, return_scenes=True
    ... )
    >>> sorted(scenes[0][0])
    ['colour', 'column', 'kind', 'row', 'size']
    """
    split = _validation.check_split(split, _SPLIT_ALIASES)
    num_images = _validation.check_int(
        "num_images", num_images, allow_none=True
    )
    # Smaller shapes cannot be told apart.
    image_size = _validation.check_int(
        "image_size", image_size, minimum=MIN_IMAGE_SIZE
    )
    seed = _validation.check_int("seed", seed, minimum=0)
    _validation.check_bool("return_scenes", return_scenes)
    if num_images is None:
        num_images = SPLIT_SIZES[split]
    scenes = _shape_scenes.sample_scenes(num_images, split, seed)
    images = _shape_drawing.render(scenes, image_size, seed, split)
    references = _shape_captions.describe(scenes)
    if return_scenes:
        return images, references, _shape_captions.scene_objects(scenes)
    return images, references


def score_content(captions, scenes, ended=None, return_per_caption=False):
    """Measures how much of each scene a caption gets right.

    Each caption is parsed for what it states (see the module docstring of
    `keras_captioning.datasets._shape_content` for the grammar):

    - objects, `[size] colour kind` or `[size] kind in colour`. A stated
      object is correct when its colour and kind, and its size if stated,
      are those of one object of the scene, each scene object matching at
      most one mention. A mention without a colour is never correct.
    - facts: relations between two mentioned objects ("left of", "to the
      right of", "above", "below"), locations ("in the top left", "at the
      bottom", ...) and counts ("a single", "two shapes in red and blue").
      A fact about an object that is not in the scene is wrong.

    Args:
        captions: list of str, one caption per scene.
        scenes: list of scenes, as returned by `load_data(...,
            return_scenes=True)`.
        ended: `None`, or one bool per caption: whether the model chose to
            end the caption before its length cap (see
            `keras_captioning.metrics.ends_properly`). Defaults to `None`.
        return_per_caption: bool. Also return the counts of every caption.
            Defaults to `False`.

    Returns:
        A dict of floats: `"object_precision"` (correct objects over stated
        objects, pooled over all captions), `"object_recall"` (correct
        objects over objects in the scenes), `"object_f1"`,
        `"fact_accuracy"` (true facts over stated facts, 1 when none is
        stated), `"entirely_right"` (share of captions that name every
        object of their scene correctly, nothing else, and state no wrong
        fact) and, with `ended`, `"ends_properly"` (share of `True`). With
        `return_per_caption=True`, a tuple `(scores, per_caption)` where
        `per_caption` is a list of dicts of ints `stated`, `correct`,
        `in_scene`, `facts`, `wrong_facts`.

    Example:

    >>> shapes = keras_captioning.datasets.shapes
    >>> scene = [
    ...     {"size": "small", "colour": "red", "kind": "circle",
    ...      "row": 0, "column": 0},
    ...     {"size": "large", "colour": "blue", "kind": "square",
    ...      "row": 0, "column": 2},
    ... ]
    >>> captions = [
    ...     "a small red circle left of a large blue square",
    ...     "a red circle right of a blue triangle",
    ... ]
    >>> scores = shapes.score_content(captions, [scene, scene])
    >>> scores["object_precision"], scores["entirely_right"]
    (0.75, 0.5)
    """
    if isinstance(captions, str) or not isinstance(captions, (list, tuple)):
        raise TypeError(
            "`captions` must be a list of str. "
            f"Received: captions of type {type(captions).__name__}"
        )
    if not isinstance(scenes, (list, tuple)):
        raise TypeError(
            "`scenes` must be a list with one scene per caption, as "
            "`load_data(..., return_scenes=True)` returns. Received: scenes "
            f"of type {type(scenes).__name__}"
        )
    if len(scenes) != len(captions):
        raise ValueError(
            "`scenes` must hold one scene per caption. Received "
            f"{len(captions)} captions and {len(scenes)} scenes."
        )
    if not captions:
        raise ValueError("`captions` is empty. Pass at least one caption.")
    if ended is not None:
        ended = [bool(flag) for flag in ended]
        if len(ended) != len(captions):
            raise ValueError(
                "`ended` must have one flag per caption. Received "
                f"{len(ended)} flags for {len(captions)} captions."
            )
    _validation.check_bool("return_per_caption", return_per_caption)
    per_caption = []
    for caption, objects in zip(captions, scenes):
        if not isinstance(caption, str):
            raise TypeError(
                "`captions` must be a list of str. Received an element "
                f"{caption!r} of type {type(caption).__name__}"
            )
        per_caption.append(_shape_content.score_caption(caption, objects))
    scores = _shape_content.summarise(per_caption, ended)
    if return_per_caption:
        return scores, per_caption
    return scores
