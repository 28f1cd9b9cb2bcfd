"""Draws the scenes of `keras_captioning.datasets.shapes` into RGB images.

All drawing is vectorised with NumPy over many images and objects at once:
each object is evaluated on a small square patch around its centre and its
pixels are scattered into the images, so no Python loop runs per pixel or per
object; images are processed in chunks to bound memory.
"""

import math

import numpy as np

from keras_captioning.datasets import _shape_scenes as scenes_lib

# Well separated in hue, and all far brighter or more saturated than the grey
# background, lines and speckles, so no distractor passes for a named colour.
PALETTE = np.array(
    [
        [220, 40, 40],  # red
        [40, 180, 60],  # green
        [40, 80, 230],  # blue
        [230, 210, 40],  # yellow
        [150, 60, 200],  # purple
        [235, 235, 235],  # white
    ],
    dtype=np.int16,
)
# Half the height and width of each size of shape, as a fraction of the
# image size: small shapes are about 15% of the image across, large ones 26%.
RADII = np.array([0.075, 0.13])
# Free border kept between an object and the edge of its cell, as a fraction
# of the image size, so objects in neighbouring cells never touch.
_MARGIN = 0.02
_SQUARE_HALF_SIDE = 0.85
_CROSS_HALF_WIDTH = 0.25
_SPECKLE_RATE = 0.02
_NOISE = 4
# Images drawn together: bounds memory, and fixes the random stream of each
# chunk so the first images of a split do not depend on how many were asked.
_PIXELS_PER_CHUNK = 2**20


def render(scenes, image_size, seed, split):
    """Returns uint8 images `(num_scenes, image_size, image_size, 3)`."""
    num_scenes = len(scenes["count"])
    images = np.empty((num_scenes, image_size, image_size, 3), np.uint8)
    chunk = max(1, _PIXELS_PER_CHUNK // (image_size * image_size))
    for index, start in enumerate(range(0, num_scenes, chunk)):
        stop = min(start + chunk, num_scenes)
        part = {key: value[start:stop] for key, value in scenes.items()}
        # One generator per chunk, drawing for a full chunk even when fewer
        # images remain, for the same reason as `_PIXELS_PER_CHUNK`.
        rng = np.random.default_rng(
            [seed, scenes_lib.SPLIT_IDS[split], image_size, index]
        )
        images[start:stop] = _render_chunk(part, image_size, rng, chunk)
    return images


def _render_chunk(scenes, size, rng, capacity):
    count = len(scenes["count"])
    grey = scenes["background"][:, None] + scenes["tint"]
    images = np.empty((count, size, size, 3), np.int16)
    images[...] = grey[:, None, None, :]
    _draw_speckles(images, rng, capacity)
    _draw_lines(images, scenes)
    _draw_objects(images, scenes)
    noise = rng.integers(
        -_NOISE, _NOISE + 1, (capacity, size, size, 3), dtype=np.int8
    )
    images += noise[:count]
    np.clip(images, 0, 255, out=images)
    return images.astype(np.uint8)


def _draw_speckles(images, rng, capacity):
    # Isolated grey pixels behind the objects: texture that carries no
    # meaning. A random number of them per image, up to twice the mean rate.
    count, size = images.shape[:2]
    most = math.ceil(2 * _SPECKLE_RATE * size * size)
    used = rng.integers(0, most + 1, capacity)[:count]
    rows = rng.integers(0, size, (capacity, most))[:count]
    columns = rng.integers(0, size, (capacity, most))[:count]
    levels = rng.integers(60, 141, (capacity, most))[:count]
    image, index = np.nonzero(np.arange(most) < used[:, None])
    images[image, rows[image, index], columns[image, index], :] = levels[
        image, index, None
    ]


def _draw_lines(images, scenes):
    # Thin grey lines anywhere, drawn under the objects: clutter no caption
    # mentions, which a model must learn to ignore.
    count, size = images.shape[:2]
    steps = np.linspace(0.0, 1.0, 2 * size)
    ends = scenes["line_ends"] * (size - 1)
    x = ends[..., 0, None] + steps * (ends[..., 2, None] - ends[..., 0, None])
    y = ends[..., 1, None] + steps * (ends[..., 3, None] - ends[..., 1, None])
    active = np.arange(scenes_lib.MAX_LINES) < scenes["line_count"][:, None]
    image, line, step = np.nonzero(np.broadcast_to(active[..., None], x.shape))
    rows = np.rint(y[image, line, step]).astype(int)
    columns = np.rint(x[image, line, step]).astype(int)
    images[image, rows, columns, :] = scenes["line_grey"][image, line, None]


def _draw_objects(images, scenes):
    # Shapes are drawn on whole pixels around a centre pixel, `reach` pixels
    # each way, so they come out symmetric and crisp at any image size: no
    # stray single pixels on a circle's rim, no missing square corners.
    size = images.shape[1]
    image, slot = np.nonzero(scenes["cell"] >= 0)
    if image.size == 0:
        return
    row, column = np.divmod(scenes["cell"][image, slot], scenes_lib.GRID)
    reach = np.floor(RADII[scenes["size"][image, slot]] * size).astype(int)
    # Room to move inside the cell while keeping the margin to its edges.
    cell = size / scenes_lib.GRID
    margin = max(1.0, _MARGIN * size)
    room = np.maximum(0.0, cell / 2 - reach - 1 - margin)
    offset = scenes["offset"][image, slot]
    centre_x = np.floor((column + 0.5) * cell + offset[:, 0] * room)
    centre_y = np.floor((row + 0.5) * cell + offset[:, 1] * room)

    largest = math.floor(RADII.max() * size)
    steps = np.arange(-largest, largest + 1)
    inside = _shape_masks(
        scenes["kind"][image, slot],
        steps[None, None, :],
        steps[None, :, None],
        reach[:, None, None],
    )
    member, patch_row, patch_column = np.nonzero(inside)
    rows = centre_y.astype(int)[member] + steps[patch_row]
    columns = centre_x.astype(int)[member] + steps[patch_column]
    colour = PALETTE[scenes["colour"][image, slot]]
    colour = colour + scenes["shade"][image, slot]
    images[image[member], rows, columns, :] = colour[member]


def _shape_masks(kind, dx, dy, reach):
    """Which pixels, `dx` and `dy` whole pixels from the centre, are inside.

    Every shape spans `2 * reach + 1` pixels in height and width.
    """
    # The rim at reach + 0.5 takes each row's outermost pixel exactly when
    # it is more inside than out.
    circle = dx**2 + dy**2 <= (reach + 0.5) ** 2
    half_side = np.rint(_SQUARE_HALF_SIDE * reach)
    square = (np.abs(dx) <= half_side) & (np.abs(dy) <= half_side)
    # Apex pixel on top, base row as wide as the shape.
    triangle = (np.abs(dy) <= reach) & (np.abs(dx) <= (dy + reach + 0.5) / 2)
    arm = np.floor(_CROSS_HALF_WIDTH * reach)
    cross = ((np.abs(dx) <= arm) & (np.abs(dy) <= reach)) | (
        (np.abs(dy) <= arm) & (np.abs(dx) <= reach)
    )
    masks = np.stack([circle, square, triangle, cross])
    return masks[kind, np.arange(len(kind))]
