"""Random scenes for `keras_captioning.datasets.shapes`, before any drawing.

A scene is one to three objects, each in its own cell of a 3x3 grid, each with
its own colour. A cell per object keeps objects apart (so "left of" is never
a judgement call) and distinct colours let a caption name an object by colour
alone. Everything random about an image except its pixel noise is decided
here, so the captions of a scene never depend on the image size.

Scenes are arrays, one row per scene, with objects in reading order (by cell,
top row first) and unused object slots marked by `cell == -1`.
"""

import numpy as np

COLOURS = ("red", "green", "blue", "yellow", "purple", "white")
KINDS = ("circle", "square", "triangle", "cross")
SIZES = ("small", "large")
GRID = 3
MAX_OBJECTS = 3
# Probabilities of one, two and three objects. Single objects are rare on
# purpose: there are only 432 distinct single-object scenes.
COUNT_PROBABILITIES = (0.2, 0.4, 0.4)
# Enough slots for the largest caption template pool of any object count.
MAX_TEMPLATES = 8
MAX_LINES = 2

# A scene's split is a pure function of its layout (which objects in which
# cells), never of the seed, so no layout appears in two splits whatever
# seeds they were drawn with.
SPLIT_IDS = {"train": 0, "validation": 1, "test": 2}
_SPLIT_BUCKETS = {"train": tuple(range(8)), "validation": (8,), "test": (9,)}
_NUM_BUCKETS = 10

# Candidates are drawn in batches of a fixed size so that the first scenes of
# a split do not depend on how many scenes were asked for.
_BATCH = 1024
_NUM_OBJECT_CODES = GRID * GRID * len(COLOURS) * len(KINDS) * len(SIZES)


def sample_scenes(num_scenes, split, seed):
    """Draws `num_scenes` scenes belonging to `split`, as a dict of arrays."""
    rng = np.random.default_rng([seed, SPLIT_IDS[split]])
    buckets = np.asarray(_SPLIT_BUCKETS[split])
    kept = []
    total = 0
    while total < num_scenes:
        candidates = _draw_candidates(rng, _BATCH)
        keep = np.isin(split_buckets(candidates), buckets)
        kept.append({key: value[keep] for key, value in candidates.items()})
        total += int(keep.sum())
    return {
        key: np.concatenate([batch[key] for batch in kept])[:num_scenes]
        for key in kept[0]
    }


def scene_codes(scenes):
    """One integer per scene that identifies its layout.

    Two scenes share a code exactly when they have the same objects (kind,
    colour, size) in the same cells; offsets within cells and noise are
    ignored.
    """
    cell = scenes["cell"]
    codes = (
        (cell * len(COLOURS) + scenes["colour"]) * len(KINDS) + scenes["kind"]
    ) * len(SIZES) + scenes["size"]
    # Digit 0 marks an empty slot, so scenes with fewer objects differ too.
    digits = np.where(cell >= 0, codes + 1, 0).astype(np.uint64)
    base = np.uint64(_NUM_OBJECT_CODES + 1)
    return digits[:, 0] + base * (digits[:, 1] + base * digits[:, 2])


def split_buckets(scenes):
    """The hash bucket of each scene's layout; buckets decide the split."""
    return (_mix(scene_codes(scenes)) % np.uint64(_NUM_BUCKETS)).astype(int)


def _mix(values):
    # The SplitMix64 finaliser: consecutive codes land in unrelated buckets,
    # so every split sees every kind of layout. uint64 arithmetic wraps.
    values = values.astype(np.uint64)
    values ^= values >> np.uint64(30)
    values *= np.uint64(0xBF58476D1CE4E5B9)
    values ^= values >> np.uint64(27)
    values *= np.uint64(0x94D049BB133111EB)
    values ^= values >> np.uint64(31)
    return values


def _draw_candidates(rng, size):
    count = rng.choice(
        np.arange(1, MAX_OBJECTS + 1), size=size, p=COUNT_PROBABILITIES
    )
    slot = np.arange(MAX_OBJECTS)
    present = slot[None, :] < count[:, None]
    # Distinct cells, sorted into reading order with empty slots last.
    cell = np.argsort(rng.random((size, GRID * GRID)), axis=1)[:, :MAX_OBJECTS]
    cell = np.sort(np.where(present, cell, GRID * GRID), axis=1)
    cell = np.where(present, cell, -1)
    colour = np.argsort(rng.random((size, len(COLOURS))), axis=1)
    colour = colour[:, :MAX_OBJECTS]
    return {
        "count": count,
        "cell": cell,
        "colour": colour,
        "kind": rng.integers(0, len(KINDS), (size, MAX_OBJECTS)),
        "size": rng.integers(0, len(SIZES), (size, MAX_OBJECTS)),
        # Position within the cell, as a fraction of the free room there.
        "offset": rng.uniform(-1.0, 1.0, (size, MAX_OBJECTS, 2)),
        # Per-object shift of the palette colour, so no two reds are equal:
        # brightness first, then a little hue, so whites stay white.
        "shade": rng.integers(-15, 16, (size, MAX_OBJECTS, 1))
        + rng.integers(-4, 5, (size, MAX_OBJECTS, 3)),
        "background": rng.integers(15, 56, size),
        "tint": rng.integers(-5, 6, (size, 3)),
        "line_count": rng.integers(0, MAX_LINES + 1, size),
        # Line end points in unit coordinates, and their grey levels.
        "line_ends": rng.random((size, MAX_LINES, 4)),
        "line_grey": rng.integers(70, 131, (size, MAX_LINES)),
        # The order in which caption templates are tried for this scene.
        "template_order": np.argsort(rng.random((size, MAX_TEMPLATES)), axis=1),
    }
