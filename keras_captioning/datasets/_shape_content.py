"""Reads what a caption of the shapes data states and checks it.

The parser knows the dataset's words: sizes, colours, kinds, the positions
of the 3x3 grid, the relations "left of", "right of", "to the left of",
"above" and "below", and the counts "a single", "one", "two shapes", "three
shapes". It does not need the caption to follow a template: it scans the
words left to right.

- An object mention is `[size] [colour] kind`, or `[size] kind in colour`.
  A mention without a colour names no object of the scene (colours are
  unique within a scene, so the colour is what identifies an object).
- A relation word between two mentions relates the first to the second.
- A location phrase ("in the top left", "at the bottom", ...) places the
  mention before it.
- "two shapes in red and blue" states a count and the set of colours.
"""

import re

import numpy as np

from keras_captioning.datasets import _shape_scenes as scenes_lib

_SIZES = frozenset(scenes_lib.SIZES)
_COLOURS = frozenset(scenes_lib.COLOURS)
_KINDS = frozenset(scenes_lib.KINDS)
_COUNTS = {"one": 1, "two": 2, "three": 3}
_POSITIONS = {
    ("top", "left"): (0, 0),
    ("top",): (0, None),
    ("top", "right"): (0, 2),
    ("left",): (None, 0),
    ("center",): (1, 1),
    ("right",): (None, 2),
    ("bottom", "left"): (2, 0),
    ("bottom",): (2, None),
    ("bottom", "right"): (2, 2),
}
# "at the top" is the top middle cell and "on the left" the middle left
# cell in the dataset's captions.
_LOCATION_CELLS = {
    ("top",): (0, 1),
    ("left",): (1, 0),
    ("right",): (1, 2),
    ("bottom",): (2, 1),
}


class CaptionContent:
    """What one caption states: objects, relations, locations, counts."""

    def __init__(self):
        # Each mention: dict(size, colour, kind); None where not stated.
        self.mentions = []
        # (subject mention index, relation word, object mention index).
        self.relations = []
        # (mention index, (row, column)).
        self.locations = []
        # (count or None, tuple of colours or None).
        self.counts = []


def parse(caption):
    """Parses one caption into a `CaptionContent`."""
    words = re.sub(r"[^a-z ]", " ", caption.lower()).split()
    content = CaptionContent()
    pending_relation = None
    index = 0
    while index < len(words):
        word = words[index]
        if word in _COUNTS and _next(words, index) == "shapes":
            index = _parse_colour_list(words, index, content)
            continue
        if word == "single" or (
            word == "one" and _next(words, index) in _SIZES | _COLOURS | _KINDS
        ):
            content.counts.append((1, None))
            index += 1
            continue
        if word in _SIZES | _COLOURS | _KINDS:
            mention, index = _parse_mention(words, index)
            if mention is None:
                continue
            content.mentions.append(mention)
            if pending_relation is not None:
                content.relations.append(
                    (
                        pending_relation[0],
                        pending_relation[1],
                        len(content.mentions) - 1,
                    )
                )
                pending_relation = None
            continue
        relation, length = _relation_at(words, index)
        if relation is not None:
            if content.mentions:
                pending_relation = (len(content.mentions) - 1, relation)
            index += length
            continue
        cell, length = _location_at(words, index)
        if cell is not None:
            if content.mentions:
                content.locations.append((len(content.mentions) - 1, cell))
            index += length
            continue
        index += 1
    return content


def _next(words, index, offset=1):
    position = index + offset
    return words[position] if position < len(words) else None


def _parse_mention(words, index):
    size = colour = None
    start = index
    if words[index] in _SIZES:
        size = words[index]
        index += 1
    if index < len(words) and words[index] in _COLOURS:
        colour = words[index]
        index += 1
    if index >= len(words) or words[index] not in _KINDS:
        # A size or colour that qualifies no kind names no object.
        return None, max(index, start + 1)
    kind = words[index]
    index += 1
    if (
        colour is None
        and _next(words, index - 1) == "in"
        and _next(words, index) in _COLOURS
    ):
        colour = words[index + 1]
        index += 2
    return {"size": size, "colour": colour, "kind": kind}, index


def _parse_colour_list(words, index, content):
    count = _COUNTS[words[index]]
    index += 2  # the count and "shapes"
    colours = []
    if _next(words, index - 1) == "in":
        index += 1
        while index < len(words) and (
            words[index] in _COLOURS or words[index] == "and"
        ):
            if words[index] in _COLOURS:
                colours.append(words[index])
            index += 1
    content.counts.append((count, tuple(colours) or None))
    return index


def _relation_at(words, index):
    word = words[index]
    if word in ("above", "below"):
        return word, 1
    if word in ("left", "right") and _next(words, index) == "of":
        return word, 2
    return None, 0


def _location_at(words, index):
    if words[index] not in ("in", "at", "on") or _next(words, index) != "the":
        return None, 0
    for length in (2, 1):
        key = tuple(words[index + 2 : index + 2 + length])
        if len(key) == length and key in _POSITIONS:
            # "to the left of" starts with "to", so it never gets here.
            return _LOCATION_CELLS.get(key, _POSITIONS[key]), 2 + length
    return None, 0


def match_objects(mentions, objects):
    """Matches mentions to scene objects one to one.

    A mention matches an object when its colour and kind, and its size if
    stated, are the object's. Returns one entry per mention: the index of
    its object, or `None`.
    """
    used = set()
    matched = []
    for mention in mentions:
        found = None
        for position, item in enumerate(objects):
            if position in used:
                continue
            if (
                mention["colour"] == item["colour"]
                and mention["kind"] == item["kind"]
                and mention["size"] in (None, item["size"])
            ):
                found = position
                break
        if found is not None:
            used.add(found)
        matched.append(found)
    return matched


def _relation_holds(relation, first, second):
    if relation == "left":
        return first["column"] < second["column"]
    if relation == "right":
        return first["column"] > second["column"]
    # The dataset says "above"/"below" only within one column; a caption
    # that says it of objects in different columns is still right when
    # the rows agree.
    if relation == "above":
        return first["row"] < second["row"]
    return first["row"] > second["row"]


def score_caption(caption, objects):
    """Counts for one caption against its scene's objects.

    Returns a dict of ints: `stated`, `correct`, `in_scene`, `facts` and
    `wrong_facts` (relations, locations and counts).
    """
    content = parse(caption)
    matched = match_objects(content.mentions, objects)
    facts = wrong = 0
    for subject, relation, target in content.relations:
        facts += 1
        first, second = matched[subject], matched[target]
        if (
            first is None
            or second is None
            or not _relation_holds(relation, objects[first], objects[second])
        ):
            wrong += 1
    for mention, (row, column) in content.locations:
        facts += 1
        item = matched[mention]
        if item is None or (
            (objects[item]["row"], objects[item]["column"]) != (row, column)
        ):
            wrong += 1
    for count, colours in content.counts:
        facts += 1
        true_colours = sorted(item["colour"] for item in objects)
        if count != len(objects) or (
            colours is not None and sorted(colours) != true_colours
        ):
            wrong += 1
    correct = sum(item is not None for item in matched)
    return {
        "stated": len(matched),
        "correct": correct,
        "in_scene": len(objects),
        "facts": facts,
        "wrong_facts": wrong,
    }


def summarise(counts, ended=None):
    """Corpus figures from the per-caption counts of `score_caption`."""
    table = {
        key: np.array([row[key] for row in counts], dtype=np.int64)
        for key in ("stated", "correct", "in_scene", "facts", "wrong_facts")
    }
    stated = table["stated"].sum()
    correct = table["correct"].sum()
    in_scene = table["in_scene"].sum()
    precision = correct / stated if stated else 0.0
    recall = correct / in_scene if in_scene else 0.0
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision + recall
        else 0.0
    )
    facts = table["facts"].sum()
    entirely_right = (
        (table["correct"] == table["stated"])
        & (table["correct"] == table["in_scene"])
        & (table["wrong_facts"] == 0)
    )
    scores = {
        "object_precision": float(precision),
        "object_recall": float(recall),
        "object_f1": float(f1),
        "fact_accuracy": float(
            1.0 - table["wrong_facts"].sum() / facts if facts else 1.0
        ),
        "entirely_right": float(entirely_right.mean()),
    }
    if ended is not None:
        scores["ends_properly"] = float(np.mean(ended))
    return scores
