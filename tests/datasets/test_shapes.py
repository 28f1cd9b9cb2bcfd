import collections
import re

import hypothesis
import numpy as np
import pytest
from hypothesis import strategies as st
from matplotlib.colors import rgb_to_hsv

from keras_captioning.datasets import _shape_scenes
from keras_captioning.datasets import shapes

# The test's own idea of each colour name, as a hue in degrees, independent of
# the palette the generator draws with.
HUES = {"red": 0, "yellow": 55, "green": 125, "blue": 225, "purple": 280}
COLOURS = (*HUES, "white")
KINDS = ("circle", "square", "triangle", "cross")
NOUN = (
    r"(?:(small|large) )?(red|green|blue|yellow|purple|white) "
    r"(circle|square|triangle|cross)"
)
LOCATIONS = {
    "in the top left": (0, 0),
    "at the top": (0, 1),
    "in the top right": (0, 2),
    "on the left": (1, 0),
    "in the center": (1, 1),
    "on the right": (1, 2),
    "in the bottom left": (2, 0),
    "at the bottom": (2, 1),
    "in the bottom right": (2, 2),
}
LOCATION = "|".join(LOCATIONS)


@pytest.fixture(scope="module")
def test_split():
    return shapes.load_data("test")


def colour_masks(image):
    """Pixels a person would call each colour name."""
    hsv = rgb_to_hsv(image / 255.0)
    hue, saturation, value = hsv[..., 0] * 360, hsv[..., 1], hsv[..., 2]
    masks = {"white": (saturation < 0.2) & (value > 0.75)}
    vivid = (saturation > 0.45) & (value > 0.45)
    for name, centre in HUES.items():
        distance = np.abs((hue - centre + 180) % 360 - 180)
        masks[name] = vivid & (distance < 25)
    return masks


def measure(mask):
    """Kind, extent and grid cell of the one object drawn in `mask`."""
    rows, columns = np.nonzero(mask)
    top, bottom = rows.min(), rows.max()
    left, right = columns.min(), columns.max()
    box = mask[top : bottom + 1, left : right + 1]
    if box[0].mean() > 0.8:
        kind = "square"
    elif box[-1].mean() > 0.8:
        kind = "triangle"
    elif box.mean() > 0.67:
        kind = "circle"
    else:
        kind = "cross"
    third = mask.shape[0] / 3
    cell = (int((top + bottom) / 2 // third), int((left + right) / 2 // third))
    return kind, max(box.shape), cell, (top, bottom, left, right)


def check_captions_match_pixels(image, captions):
    masks = colour_masks(image)
    drawn = {name for name, mask in masks.items() if mask.any()}
    text = " | ".join(captions)
    nouns = re.findall(NOUN, text)
    nouns += [
        (size, colour, kind)
        for size, kind, colour in re.findall(
            r"(small|large) (circle|square|triangle|cross) in (\w+)", text
        )
    ]
    mentioned = {colour for _, colour, _ in nouns}
    mentioned |= {
        colour
        for words in re.findall(r"(?:two|three) shapes in ([a-z ]+)", text)
        for colour in words.split()
        if colour != "and"
    }
    assert mentioned == drawn, (captions, drawn)

    objects = {colour: measure(masks[colour]) for colour in drawn}
    # Objects never overlap nor touch: some background lies between them.
    boxes = [objects[colour][3] for colour in sorted(drawn)]
    for index, (top, bottom, left, right) in enumerate(boxes):
        for other in boxes[index + 1 :]:
            apart_rows = top > other[1] + 1 or other[0] > bottom + 1
            apart_columns = left > other[3] + 1 or other[2] > right + 1
            assert apart_rows or apart_columns, (captions, objects)
    size = image.shape[0]
    for size_word, colour, kind in nouns:
        drawn_kind, extent, _, _ = objects[colour]
        assert drawn_kind == kind, (captions, colour, objects)
        if size_word == "small":
            assert extent < 0.19 * size, (captions, colour, extent)
        if size_word == "large":
            assert extent > 0.19 * size, (captions, colour, extent)

    for match in re.finditer(rf"{NOUN} (?:is )?({LOCATION})", text):
        colour, location = match.group(2), match.group(4)
        assert objects[colour][2] == LOCATIONS[location], (captions, colour)

    relation = (
        rf"{NOUN} (?:is )?(?:to the )?(left of|right of|above|below) "
        rf"(?:a|the) {NOUN}"
    )
    for match in re.finditer(relation, text):
        first, word, second = match.group(2), match.group(4), match.group(6)
        (row_a, column_a), (row_b, column_b) = (
            objects[first][2],
            objects[second][2],
        )
        expected = {
            "left of": column_a < column_b,
            "right of": column_a > column_b,
            "above": row_a < row_b,
            "below": row_a > row_b,
        }
        assert expected[word], (captions, objects)

    counts = {
        "a single": 1,
        "one": 1,
        "two shapes": 2,
        "three shapes": 3,
    }
    for phrase, count in counts.items():
        if any(caption.startswith(phrase + " ") for caption in captions):
            assert len(drawn) == count, (captions, drawn)


def test_default_split_sizes_shapes_and_dtypes(test_split):
    for split, size in (("train", 4000), ("validation", 500)):
        images, references = shapes.load_data(split)
        assert images.shape == (size, 64, 64, 3)
        assert len(references) == size
    images, references = test_split
    assert images.shape == (500, 64, 64, 3)
    assert images.dtype == np.uint8
    assert isinstance(references, list) and len(references) == 500
    assert all(isinstance(captions, list) for captions in references)
    assert all(
        isinstance(caption, str)
        for captions in references
        for caption in captions
    )


def test_five_distinct_short_captions_per_image(test_split):
    _, references = test_split
    vocabulary = set()
    for captions in references:
        assert len(captions) >= 5
        assert len(set(captions)) == len(captions)
        for caption in captions:
            words = caption.split(" ")
            assert 1 <= len(words) <= 16
            assert caption == caption.lower().strip()
            assert all(word.isalpha() for word in words), caption
            vocabulary.update(words)
    assert 30 <= len(vocabulary) <= 60
    assert set(COLOURS) | set(KINDS) <= vocabulary


def test_captions_are_true_of_the_default_test_images(test_split):
    images, references = test_split
    for image, captions in zip(images, references):
        check_captions_match_pixels(image, captions)


@hypothesis.settings(deadline=None)
@hypothesis.given(
    split=st.sampled_from(["train", "validation", "test"]),
    seed=st.integers(0, 2**32 - 1),
    image_size=st.integers(48, 96),
)
def test_captions_are_true_for_any_seed_and_size(split, seed, image_size):
    images, references = shapes.load_data(
        split, num_images=12, image_size=image_size, seed=seed
    )
    assert images.shape == (12, image_size, image_size, 3)
    for image, captions in zip(images, references):
        check_captions_match_pixels(image, captions)


def test_scenes_do_not_depend_on_image_size():
    _, small = shapes.load_data("validation", num_images=30, image_size=48)
    _, large = shapes.load_data("validation", num_images=30, image_size=96)
    assert small == large


def test_same_arguments_give_the_same_data():
    first = shapes.load_data("train", num_images=40, seed=3)
    second = shapes.load_data("train", num_images=40, seed=3)
    np.testing.assert_array_equal(first[0], second[0])
    assert first[1] == second[1]


def test_other_seeds_give_other_data():
    images_a, references_a = shapes.load_data("train", num_images=40, seed=0)
    images_b, references_b = shapes.load_data("train", num_images=40, seed=1)
    assert not np.array_equal(images_a, images_b)
    assert references_a != references_b


def test_a_smaller_request_is_a_prefix_of_a_larger_one():
    # Spans several scene batches and, at this size, several drawing chunks.
    few_images, few = shapes.load_data("test", num_images=90, image_size=128)
    images, references = shapes.load_data(
        "test", num_images=250, image_size=128
    )
    np.testing.assert_array_equal(few_images, images[:90])
    assert few == references[:90]


def test_splits_share_no_scene_layout_whatever_the_seeds():
    codes = {
        split: set(
            _shape_scenes.scene_codes(
                _shape_scenes.sample_scenes(size, split, seed)
            ).tolist()
        )
        for (split, size), seed in zip(shapes.SPLIT_SIZES.items(), (0, 1, 2))
    }
    assert not codes["train"] & codes["validation"]
    assert not codes["train"] & codes["test"]
    assert not codes["validation"] & codes["test"]


def test_scene_codes_tell_layouts_apart():
    scenes = _shape_scenes.sample_scenes(3000, "train", 0)
    codes = _shape_scenes.scene_codes(scenes)
    layouts = [
        tuple(
            zip(
                *(
                    scenes[key][index, : scenes["count"][index]].tolist()
                    for key in ("cell", "colour", "kind", "size")
                )
            )
        )
        for index in range(len(codes))
    ]
    by_code = collections.defaultdict(set)
    for code, layout in zip(codes.tolist(), layouts):
        by_code[code].add(layout)
    assert all(len(group) == 1 for group in by_code.values())
    assert len(by_code) == len(set(layouts))


def test_captions_require_reading_the_image(test_split):
    _, references = test_split
    captions = collections.Counter(
        c for captions in references for c in captions
    )
    images_with = collections.Counter(
        caption for captions in references for caption in set(captions)
    )
    commonest, _ = captions.most_common(1)[0]
    # The best a blind model can do is one caption for every image: it is a
    # reference of only a small fraction of them.
    assert images_with[commonest] < 0.03 * len(references)
    counts = collections.Counter(
        next(
            (
                n
                for word, n in (("two", 2), ("three", 3))
                if f"{word} shapes" in text
            ),
            None,
        )
        for text in (" ".join(captions) for captions in references)
    )
    assert counts[2] > 50 and counts[3] > 50


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"split": "training"}, ValueError, "split='training'"),
        ({"split": None}, TypeError, "split=None"),
        ({"num_images": 0}, ValueError, "num_images=0"),
        ({"num_images": -3}, ValueError, "num_images=-3"),
        ({"num_images": 2.0}, TypeError, "num_images=2.0"),
        ({"num_images": True}, TypeError, "num_images=True"),
        ({"image_size": 32}, ValueError, "image_size=32"),
        ({"image_size": 47}, ValueError, "at least 48"),
        ({"image_size": "64"}, TypeError, "image_size='64'"),
        ({"seed": -1}, ValueError, "seed=-1"),
        ({"seed": 1.5}, TypeError, "seed=1.5"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=re.escape(match)):
        shapes.load_data(**kwargs)


def test_val_is_an_alias_of_validation():
    first = shapes.load_data("val", num_images=5)
    second = shapes.load_data("validation", num_images=5)
    np.testing.assert_array_equal(first[0], second[0])
    assert first[1] == second[1]


def test_numpy_integers_are_accepted():
    images, references = shapes.load_data(
        "test",
        num_images=np.int64(3),
        image_size=np.int32(48),
        seed=np.uint8(2),
    )
    assert images.shape == (3, 48, 48, 3) and len(references) == 3


# ------------------------------------------------------- content measure


def _every_template_caption(num_images=400):
    """(caption, scene, template number, object count) for every template."""
    from keras_captioning.datasets import _shape_captions

    raw = _shape_scenes.sample_scenes(num_images, "train", seed=3)
    scenes = _shape_captions.scene_objects(raw)
    rows = []
    for index, objects in enumerate(scenes):
        count = len(objects)
        described = [
            _shape_captions._Object(
                raw["cell"][index, slot],
                raw["colour"][index, slot],
                raw["kind"][index, slot],
                raw["size"][index, slot],
            )
            for slot in range(count)
        ]
        pool = _shape_captions._TEMPLATES[count](*described)
        for number, caption in enumerate(pool):
            rows.append((caption, objects, number, count))
    return rows


def test_load_data_returns_scenes_that_match_the_captions():
    images, references, scenes = shapes.load_data(
        "test", num_images=30, return_scenes=True
    )
    again_images, again_references = shapes.load_data("test", num_images=30)
    np.testing.assert_array_equal(images, again_images)
    assert references == again_references
    assert len(scenes) == 30
    for captions, objects in zip(references, scenes):
        assert 1 <= len(objects) <= 3
        for item in objects:
            assert item["colour"] in COLOURS and item["kind"] in KINDS
            assert item["size"] in ("small", "large")
            assert 0 <= item["row"] < 3 and 0 <= item["column"] < 3
        # Every object's colour is named by some reference.
        text = " ".join(captions)
        assert all(item["colour"] in text for item in objects)


def test_every_template_is_scored_right_for_what_it_states():
    rows = _every_template_caption()
    captions = [row[0] for row in rows]
    scenes = [row[1] for row in rows]
    scores, per_caption = shapes.score_content(
        captions, scenes, return_per_caption=True
    )
    assert scores["object_precision"] == 1.0
    assert scores["fact_accuracy"] == 1.0
    by_template = collections.defaultdict(list)
    for (caption, _, number, count), counts in zip(rows, per_caption):
        assert counts["correct"] == counts["stated"], caption
        assert counts["wrong_facts"] == 0, caption
        by_template[count, number].append(counts)
    # The parser finds every fact a template states: a relation, a
    # location phrase or a count.
    for (count, number), table in by_template.items():
        caption = next(r[0] for r in rows if r[2:] == (number, count))
        words = caption.split()
        expected = sum(
            word in ("above", "below", "single", "one", "shapes")
            or (
                word in ("left", "right")
                and words[i + 1 : i + 2] == ["of"]
                and (
                    words[i - 1] not in ("the", "top", "bottom")
                    or words[i - 2] == "to"
                )
            )
            or (word in ("in", "at", "on") and words[i + 1 : i + 2] == ["the"])
            for i, word in enumerate(words)
        )
        assert {row["facts"] for row in table} == {expected}, caption
        if count == 1:
            assert {row["stated"] for row in table} == {1}, caption


def test_entirely_right_needs_every_object_and_nothing_wrong():
    scene = [
        {
            "size": "small",
            "colour": "red",
            "kind": "circle",
            "row": 0,
            "column": 0,
        },
        {
            "size": "large",
            "colour": "blue",
            "kind": "square",
            "row": 2,
            "column": 2,
        },
    ]
    cases = {
        "a small red circle left of a large blue square": 1.0,
        "the blue square is right of the red circle": 1.0,
        "a red circle and a blue square": 1.0,
        "a red circle": 0.0,  # misses an object
        "two shapes in red and blue": 0.0,  # names no object
    }
    for caption, expected in cases.items():
        scores = shapes.score_content([caption], [scene])
        assert scores["entirely_right"] == expected, caption
        assert scores["object_precision"] in (0.0, 1.0)
        assert scores["fact_accuracy"] == 1.0, caption


@pytest.mark.parametrize(
    "caption",
    [
        "a small green circle left of a large blue square",  # colour
        "a small red square left of a large blue square",  # kind
        "a large red circle left of a large blue square",  # size
        "a small red circle left of a large blue square and a red cross",
    ],
)
def test_a_wrong_object_is_caught(caption):
    scene = [
        {
            "size": "small",
            "colour": "red",
            "kind": "circle",
            "row": 1,
            "column": 0,
        },
        {
            "size": "large",
            "colour": "blue",
            "kind": "square",
            "row": 1,
            "column": 2,
        },
    ]
    scores, (counts,) = shapes.score_content(
        [caption], [scene], return_per_caption=True
    )
    assert counts["correct"] < counts["stated"]
    assert scores["object_precision"] < 1.0
    assert scores["entirely_right"] == 0.0


@pytest.mark.parametrize(
    "caption",
    [
        "a small red circle right of a large blue square",
        "there is a blue square to the left of a red circle",
        "the red circle is above the blue square",
        "a small red circle in the top left",
        "three shapes in red and blue",
        "two shapes in red and green",
        "a single red circle",
    ],
)
def test_a_wrong_fact_is_caught(caption):
    scene = [
        {
            "size": "small",
            "colour": "red",
            "kind": "circle",
            "row": 1,
            "column": 0,
        },
        {
            "size": "large",
            "colour": "blue",
            "kind": "square",
            "row": 1,
            "column": 2,
        },
    ]
    scores, (counts,) = shapes.score_content(
        [caption], [scene], return_per_caption=True
    )
    assert counts["wrong_facts"] == 1, caption
    assert scores["fact_accuracy"] < 1.0
    assert scores["entirely_right"] == 0.0


def test_references_of_a_split_are_right_for_what_they_state():
    _, references, scenes = shapes.load_data(
        "validation", num_images=200, return_scenes=True
    )
    captions = [caption for captions in references for caption in captions]
    repeated = [scene for scene in scenes for _ in range(5)]
    scores = shapes.score_content(captions, repeated, ended=[True] * 1000)
    assert scores["object_precision"] == 1.0
    assert scores["fact_accuracy"] == 1.0
    assert scores["ends_properly"] == 1.0
    assert 0.0 < scores["object_recall"] < 1.0


def test_score_content_rejects_bad_input():
    scene = [
        {
            "size": "small",
            "colour": "red",
            "kind": "circle",
            "row": 0,
            "column": 0,
        }
    ]
    with pytest.raises(TypeError, match="captions"):
        shapes.score_content("a red circle", [scene])
    with pytest.raises(ValueError, match="scenes"):
        shapes.score_content(["a red circle"], [scene, scene])
    with pytest.raises(ValueError, match="ended"):
        shapes.score_content(["a red circle"], [scene], ended=[True, False])
