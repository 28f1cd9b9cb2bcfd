"""Reference captions for the scenes of `keras_captioning.datasets.shapes`.

Each scene gets `NUM_CAPTIONS` captions from a pool of templates for its
object count, phrased differently as COCO's five annotators would, and each
true of the drawn image. Captions are lower case words separated by single
spaces, without punctuation, so every tokenizer splits them the same way.
"""

from keras_captioning.datasets import _shape_scenes as scenes_lib

NUM_CAPTIONS = 5

_LOCATIONS = {
    (0, 0): "in the top left",
    (0, 1): "at the top",
    (0, 2): "in the top right",
    (1, 0): "on the left",
    (1, 1): "in the center",
    (1, 2): "on the right",
    (2, 0): "in the bottom left",
    (2, 1): "at the bottom",
    (2, 2): "in the bottom right",
}


class _Object:
    """One drawn object, with the words that describe it."""

    def __init__(self, cell, colour, kind, size):
        self.row, self.column = divmod(int(cell), scenes_lib.GRID)
        self.colour = scenes_lib.COLOURS[colour]
        self.kind = scenes_lib.KINDS[kind]
        self.size = scenes_lib.SIZES[size]
        self.short = f"{self.colour} {self.kind}"
        self.full = f"{self.size} {self.colour} {self.kind}"
        self.location = _LOCATIONS[(self.row, self.column)]


def _relation(first, second, long=False):
    """Where `first` is relative to `second`; both are `_Object`s.

    Objects in different columns are related horizontally, otherwise
    vertically: cells never share both, so one of the two always holds.
    """
    if first.column != second.column:
        side = "left" if first.column < second.column else "right"
        return f"to the {side} of" if long else f"{side} of"
    return "above" if first.row < second.row else "below"


# Templates keep filler short: every run of four words holds at least one
# word about the image wherever possible, so a caption guessed without
# looking shares few 4-grams with the references.
def _one(a):
    return [
        f"a {a.full} {a.location}",
        f"there is a {a.full} {a.location} of the image",
        f"a single {a.short}",
        f"one {a.short} {a.location}",
        f"the {a.short} is {a.location}",
        f"a {a.size} {a.kind} in {a.colour}",
    ]


def _two(a, b):
    return [
        f"a {a.full} {_relation(a, b)} a {b.full}",
        f"there is a {b.short} {_relation(b, a, long=True)} a {a.short}",
        f"a {a.short} and a {b.short}",
        f"two shapes in {a.colour} and {b.colour}",
        f"the {a.short} is {_relation(a, b)} the {b.short}",
        f"a {a.full} and a {b.full}",
        f"a {b.full} {b.location} and a {a.short}",
    ]


def _three(a, b, c):
    return [
        f"a {a.short} a {b.short} and a {c.short}",
        f"the {a.short} is {_relation(a, b)} the {b.short}",
        f"three shapes in {a.colour} {b.colour} and {c.colour}",
        f"a {a.short} {_relation(a, c)} a {c.short} and a {b.short}",
        f"the {c.short} is {c.location}",
        f"a {a.full} a {b.full} and a {c.full}",
    ]


_TEMPLATES = {1: _one, 2: _two, 3: _three}


def describe(scenes):
    """Returns the list of `NUM_CAPTIONS` captions of every scene."""
    references = []
    for index in range(len(scenes["count"])):
        count = int(scenes["count"][index])
        objects = [
            _Object(
                scenes["cell"][index, slot],
                scenes["colour"][index, slot],
                scenes["kind"][index, slot],
                scenes["size"][index, slot],
            )
            for slot in range(count)
        ]
        pool = _TEMPLATES[count](*objects)
        order = [t for t in scenes["template_order"][index] if t < len(pool)]
        references.append([pool[t] for t in order[:NUM_CAPTIONS]])
    return references


def scene_objects(scenes):
    """The objects of every scene as lists of plain dicts of caption words."""
    result = []
    for index in range(len(scenes["count"])):
        objects = []
        for slot in range(int(scenes["count"][index])):
            item = _Object(
                scenes["cell"][index, slot],
                scenes["colour"][index, slot],
                scenes["kind"][index, slot],
                scenes["size"][index, slot],
            )
            objects.append(
                {
                    "size": item.size,
                    "colour": item.colour,
                    "kind": item.kind,
                    "row": item.row,
                    "column": item.column,
                }
            )
        result.append(objects)
    return result
