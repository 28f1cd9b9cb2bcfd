"""`read_image`: every Pillow mode to the right RGB pixels, and the errors.

Every file is written here, in `tmp_path`, with known pixels; the expected
RGB values are computed by hand from the rules in `read_image`'s
docstring, not by asking Pillow again.
"""

import io
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_captioning.data import CaptionPyDataset
from keras_captioning.data import ImageFileError
from keras_captioning.data import ImageFiles
from keras_captioning.data import cache_features
from keras_captioning.data import full_size_decode
from keras_captioning.data import make_dataset
from keras_captioning.data import read_image
from keras_captioning.data import set_full_size_decode
from keras_captioning.data.read_image import FULL_SIZE_DECODE_VARIABLE

WHITE = 255


def grey(levels):
    """uint8 grey levels `(h, w)` repeated over three channels."""
    return np.repeat(np.asarray(levels, "uint8")[..., None], 3, axis=-1)


def over_white(rgb, alpha):
    rgb = np.asarray(rgb, "float64")
    alpha = np.asarray(alpha, "float64")[..., None] / 255
    return np.round(rgb * alpha + WHITE * (1 - alpha)).astype("uint8")


def save(image, path, **kwargs):
    image.save(path, **kwargs)
    return str(path)


def mode_files(directory):
    """`{name: (path, mode Pillow opens it in, expected RGB pixels)}`."""
    rng = np.random.default_rng(0)
    files = {}

    def add(name, image, expected, **kwargs):
        path = save(image, directory / name, **kwargs)
        with Image.open(path) as opened:
            mode = opened.mode
        files[name] = (path, mode, np.asarray(expected, "uint8"))

    bits = np.array([[True, False, True], [False, True, True]])
    add("one_bit.png", Image.fromarray(bits), grey(bits * 255))

    levels = rng.integers(0, 256, (4, 5), dtype="uint8")
    add("grey.png", Image.fromarray(levels, "L"), grey(levels))

    alpha = np.array([[0, 64, 128, 255, 255]] * 4, "uint8")
    add(
        "grey_alpha.png",
        Image.fromarray(np.stack([levels, alpha], -1), "LA"),
        over_white(grey(levels), alpha),
    )

    palette = np.array([[255, 0, 0], [0, 128, 0], [10, 20, 30]], "uint8")
    indices = np.array([[0, 1, 2], [2, 1, 0]], "uint8")
    paletted = Image.frombytes("P", (3, 2), indices.tobytes())
    paletted.putpalette(palette.flatten().tolist())
    add("palette.png", paletted, palette[indices])
    expected = palette[indices].copy()
    expected[indices == 1] = WHITE
    add("palette_transparent.png", paletted, expected, transparency=1)
    add("palette.gif", paletted, palette[indices])

    colour = rng.integers(0, 256, (4, 5, 3), dtype="uint8")
    add("colour.png", Image.fromarray(colour), colour)
    add("colour.bmp", Image.fromarray(colour), colour)
    add(
        "colour_alpha.png",
        Image.fromarray(np.concatenate([colour, alpha[..., None]], -1)),
        over_white(colour, alpha),
    )
    # A colour marked transparent in an RGB file (PNG's tRNS chunk).
    expected = colour.copy()
    expected[0, 0] = WHITE
    add(
        "colour_key.png",
        Image.fromarray(colour),
        expected,
        transparency=tuple(int(value) for value in colour[0, 0]),
    )

    cmyk = Image.new("CMYK", (3, 1))
    cmyk.putdata([(255, 0, 0, 0), (0, 0, 0, 255), (0, 0, 0, 0)])
    add("cmyk.tif", cmyk, [[[0, 255, 255], [0, 0, 0], [255, 255, 255]]])

    sixteen = np.array([[0, 257, 300], [32896, 65534, 65535]], "uint16")
    add(
        "grey16.png",
        Image.fromarray(sixteen),
        grey([[0, 1, 1], [128, 255, 255]]),
    )

    thirty_two = np.array([[0, -5, 2**31 - 1], [2**30, 2**23, 2**24]], "int32")
    add(
        "grey32.tif",
        Image.fromarray(thirty_two),
        grey([[0, 0, 255], [128, 1, 2]]),
    )

    unit = np.array([[0.0, 0.5, 1.0], [0.25, 1 / 255, 0.999]], "float32")
    add(
        "float_unit.tif",
        Image.fromarray(unit),
        grey([[0, 128, 255], [64, 1, 255]]),
    )
    levels_float = np.array([[0.0, 2.0, 254.6], [100.4, 255.0, 7.5]], "float32")
    add(
        "float_levels.tif",
        Image.fromarray(levels_float),
        grey([[0, 2, 255], [100, 255, 8]]),
    )
    wide = np.array([[-1.0, 0.0, 1.0], [510.0, np.nan, 254.0]], "float32")
    add(
        "float_wide.tif",
        Image.fromarray(wide),
        # Stretched from [-1, 510] to [0, 255]; NaN counts as 0.
        grey(np.round((np.array([[-1, 0, 1], [510, 0, 254]]) + 1) * 255 / 511)),
    )

    # EXIF orientation 6: the stored image is shown turned 90 degrees
    # clockwise.
    stored = Image.fromarray(colour)
    exif = stored.getexif()
    exif[0x0112] = 6
    add("rotated.png", stored, np.rot90(colour, k=-1), exif=exif)
    return files


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return mode_files(tmp_path_factory.mktemp("modes"))


def test_files_cover_every_mode(files):
    modes = {mode for _, mode, _ in files.values()}
    assert {"1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"} <= (
        modes
    )


@pytest.mark.parametrize(
    "name",
    [
        "one_bit.png",
        "grey.png",
        "grey_alpha.png",
        "palette.png",
        "palette_transparent.png",
        "palette.gif",
        "colour.png",
        "colour.bmp",
        "colour_alpha.png",
        "colour_key.png",
        "cmyk.tif",
        "grey16.png",
        "grey32.tif",
        "float_unit.tif",
        "float_levels.tif",
        "float_wide.tif",
        "rotated.png",
    ],
)
def test_every_mode_becomes_the_right_rgb_picture(files, name):
    path, _, expected = files[name]
    pixels = read_image(path)
    assert pixels.dtype == np.uint8 and pixels.shape == expected.shape
    np.testing.assert_array_equal(pixels, expected)
    pixels[0, 0] = 0  # the caller owns the array


def test_jpeg_modes(tmp_path):
    # Lossy files: checked against their own content within JPEG error.
    colour = np.zeros((16, 16, 3), "uint8")
    colour[:, :8] = (200, 40, 40)
    colour[:, 8:] = (30, 30, 220)
    path = save(
        Image.fromarray(colour), tmp_path / "c.jpg", quality=95, subsampling=0
    )
    pixels = read_image(path)
    assert np.abs(pixels.astype(int) - colour).max() <= 12

    grey_path = save(
        Image.fromarray(colour[..., 0]), tmp_path / "g.jpg", quality=95
    )
    pixels = read_image(grey_path)
    assert np.ptp(pixels.astype(int), axis=-1).max() == 0
    assert np.abs(pixels[..., 0].astype(int) - colour[..., 0]).max() <= 12

    cmyk = Image.new("CMYK", (8, 8), (0, 0, 0, 0))
    cmyk_path = save(cmyk, tmp_path / "cmyk.jpg", quality=95)
    assert read_image(cmyk_path).min() >= 250  # white


def test_accepts_path_like_and_rejects_other_types(files):
    path, _, expected = files["colour.png"]
    np.testing.assert_array_equal(read_image(pathlib.Path(path)), expected)
    with pytest.raises(TypeError, match="path=3"):
        read_image(3)


def _truncated_jpeg(path):
    buffer = io.BytesIO()
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (64, 64, 3), dtype="uint8")
    Image.fromarray(image).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


@pytest.mark.parametrize(
    "name, write, reason",
    [
        ("missing.jpg", None, "no such file"),
        ("empty.png", lambda p: p.write_bytes(b""), "the file is empty"),
        (
            "notes.jpg",
            lambda p: p.write_text("a dog runs\n"),
            "not an image format Pillow recognises",
        ),
        ("cut.jpg", _truncated_jpeg, "image file is truncated"),
        ("folder.png", lambda p: p.mkdir(), "directory"),
    ],
)
def test_unreadable_files_raise_one_error_naming_the_file(
    tmp_path, name, write, reason
):
    path = tmp_path / name
    if write is not None:
        write(path)
    with pytest.raises(ImageFileError) as caught:
        read_image(str(path))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"Cannot read the image file {str(path)!r}: ")
    assert reason in message
    assert isinstance(caught.value, ValueError)


def _photo_jpeg(path, height, width, seed):
    """A smooth picture with an edge, saved as a JPEG."""
    rows = np.linspace(0, 1, height)[:, None, None]
    columns = np.linspace(0, 1, width)[None, :, None]
    shifts = np.array([0.0, 2.0, 4.0]) + seed
    pixels = 127 + 100 * np.sin(3 * rows + 2 * columns + shifts)
    pixels[: height // 2, width // 3 :] *= 0.4
    image = Image.fromarray(np.round(pixels).astype("uint8"))
    return save(image, path, quality=85)


def _every_pipeline(paths, tokenizer, image_size):
    """The pixels each pipeline yields for `paths`, in order."""
    references = [["i0"]] * len(paths)
    common = dict(batch_size=len(paths), image_size=image_size, shuffle=False)
    tf_images = next(
        iter(make_dataset(paths, references, tokenizer, **common))
    )[0]
    py_images = CaptionPyDataset(paths, references, tokenizer, **common)[0][0]
    cached = cache_features(
        keras.layers.Identity(),
        paths,
        paths[0] + ".cache",
        image_size=image_size,
        verbose=0,
    )
    return {
        "make_dataset": tf.convert_to_tensor(tf_images).numpy(),
        "CaptionPyDataset": py_images,
        "cache_features": np.asarray(cached),
    }


@pytest.mark.parametrize("image_size", [(6, 7), None])
def test_every_pipeline_gives_the_pixels_read_image_gives(
    files, tmp_path, tokenizer, image_size
):
    if image_size is None:
        # Without resizing all files must share a size: the colour ones.
        names = ["grey.png", "grey_alpha.png", "colour.png", "colour.bmp"]
        paths = [files[name][0] for name in names]
        paths += [_photo_jpeg(tmp_path / "p.jpg", 4, 5, seed=0)]
    else:
        paths = [path for path, _, _ in files.values()]
        paths += [
            _photo_jpeg(tmp_path / f"p{i}.jpg", 30 + 7 * i, 41 - 5 * i, i)
            for i in range(3)
        ]
    expected = np.stack([read_image(path, image_size) for path in paths])
    for name, pixels in _every_pipeline(paths, tokenizer, image_size).items():
        assert pixels.shape == expected.shape, name
        np.testing.assert_array_equal(pixels, expected, err_msg=name)
    # The command reads files through the same reader.
    command = ImageFiles(paths, image_size)
    np.testing.assert_array_equal(command[:], expected, err_msg="command")


# The four quadrants of `_stored_jpeg`'s picture as stored, and where each
# one is shown under an EXIF orientation (1: as stored; 3: turned 180
# degrees; 6: turned 90 degrees clockwise; 8: turned 90 degrees
# anticlockwise), as (top left, top right, bottom left, bottom right).
QUADRANTS = np.array(
    [(200, 40, 40), (40, 190, 40), (40, 40, 200), (200, 200, 40)]
)
SHOWN = {
    1: (0, 1, 2, 3),
    3: (3, 2, 1, 0),
    6: (2, 0, 3, 1),
    8: (1, 3, 0, 2),
}


def _stored_jpeg(path, width, height, orientation=None):
    """A JPEG stored `width` x `height`: four flat quadrants (`QUADRANTS`),
    with a little noise, and an EXIF orientation when given."""
    rng = np.random.default_rng(width * height)
    pixels = np.empty((height, width, 3))
    top, left = height // 2, width // 2
    pixels[:top, :left] = QUADRANTS[0]
    pixels[:top, left:] = QUADRANTS[1]
    pixels[top:, :left] = QUADRANTS[2]
    pixels[top:, left:] = QUADRANTS[3]
    pixels += rng.normal(0, 6, (height, width, 1))
    image = Image.fromarray(np.clip(np.round(pixels), 0, 255).astype("uint8"))
    kwargs = {"quality": 90}
    if orientation is not None:
        exif = image.getexif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif
    return save(image, path, **kwargs)


def assert_shows_quadrants(pixels, orientation=1):
    """The middle of each quarter of `pixels` has its quadrant's colour."""
    height, width = pixels.shape[:2]
    rows = [slice(height // 8, 3 * height // 8 + 1)]
    rows.append(slice(5 * height // 8, 7 * height // 8 + 1))
    columns = [slice(width // 8, 3 * width // 8 + 1)]
    columns.append(slice(5 * width // 8, 7 * width // 8 + 1))
    middles = [pixels[r, c] for r in rows for c in columns]
    for place, (middle, shown) in enumerate(zip(middles, SHOWN[orientation])):
        colour = middle.reshape(-1, 3).mean(axis=0)
        assert np.abs(colour - QUADRANTS[shown]).max() < 12, (place, colour)


@pytest.mark.parametrize(
    "stored, image_size, scaled",
    [
        ((640, 480), (224, 224), True),  # COCO's typical photo at 224 px
        ((640, 480), (160, 160), True),
        ((640, 480), (112, 112), True),
        ((640, 480), (48, 48), True),
        ((640, 480), (240, 320), True),  # exactly half
        ((640, 480), (241, 320), False),  # a pixel more than half: full
        ((100, 80), (64, 64), False),  # too small for 1/2
    ],
)
def test_a_jpeg_is_decoded_at_the_dct_scale_its_size_allows(
    tmp_path, stored, image_size, scaled
):
    path = _stored_jpeg(tmp_path / "photo.jpg", *stored)
    pixels = read_image(path, image_size)
    assert pixels.shape == (*image_size, 3)
    assert pixels.dtype == np.uint8
    assert_shows_quadrants(pixels)
    full = read_image(path, image_size, full_size_decode=True)
    assert full.shape == (*image_size, 3)
    assert_shows_quadrants(full)
    difference = np.abs(pixels.astype(int) - full)
    if scaled:
        # Decoded smaller: the same picture, slightly softer.
        assert 0 < difference.mean() < 3.0
    else:
        # The requested size needs every stored pixel.
        assert difference.max() == 0


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_the_dct_scale_follows_the_exif_orientation(tmp_path, orientation):
    # Stored 640 wide, 160 high; orientations 6 and 8 show it 160 x 640.
    path = _stored_jpeg(tmp_path / "turned.jpg", 640, 160, orientation)
    image_size = (300, 60) if orientation in (6, 8) else (60, 300)
    pixels = read_image(path, image_size)
    # Shown the right way round...
    assert pixels.shape == (*image_size, 3)
    assert_shows_quadrants(pixels, orientation)
    full = read_image(path, image_size, full_size_decode=True)
    assert_shows_quadrants(full, orientation)
    # ... and decoded at half size: half the stored size still covers the
    # request the right way round; read the wrong way round it would not
    # (160 / 2 < 300), and the whole file would be decoded.
    difference = np.abs(pixels.astype(int) - full)
    assert 0 < difference.mean() < 3.0


def test_jpeg_modes_at_the_dct_scale(tmp_path):
    colour = np.zeros((64, 64, 3), "uint8")
    colour[:, :32] = (200, 40, 40)
    colour[:, 32:] = (30, 30, 220)
    grey_path = save(Image.fromarray(colour[..., 0]), tmp_path / "g.jpg")
    pixels = read_image(grey_path, (16, 16))
    assert np.ptp(pixels.astype(int), axis=-1).max() == 0
    assert abs(int(pixels[8, 2, 0]) - 200) <= 12
    cmyk = Image.new("CMYK", (64, 64), (0, 0, 0, 0))
    cmyk_path = save(cmyk, tmp_path / "cmyk.jpg", quality=95)
    assert read_image(cmyk_path, (16, 16)).min() >= 250  # white
    colour_path = save(Image.fromarray(colour), tmp_path / "c.jpg")
    pixels = read_image(colour_path, (8, 8)).astype(int)
    assert np.abs(pixels[:, 1] - colour[0, 0]).max() <= 12


def test_full_size_decode_setting_reaches_every_pipeline(
    tmp_path, tokenizer, monkeypatch
):
    monkeypatch.delenv(FULL_SIZE_DECODE_VARIABLE, raising=False)
    paths = [
        _stored_jpeg(tmp_path / f"p{i}.jpg", 320 + 40 * i, 240)
        for i in range(3)
    ]
    size = (64, 80)
    scaled = np.stack([read_image(path, size) for path in paths])
    full = np.stack(
        [read_image(path, size, full_size_decode=True) for path in paths]
    )
    assert np.abs(scaled.astype(int) - full).max() > 0
    assert not full_size_decode()
    set_full_size_decode(True)
    try:
        assert full_size_decode()
        np.testing.assert_array_equal(
            np.stack([read_image(path, size) for path in paths]), full
        )
        for name, pixels in _every_pipeline(paths, tokenizer, size).items():
            np.testing.assert_array_equal(pixels, full, err_msg=name)
        np.testing.assert_array_equal(
            ImageFiles(paths, size)[:], full, err_msg="command"
        )
        # An explicit argument wins over the setting.
        np.testing.assert_array_equal(
            read_image(paths[0], size, full_size_decode=False), scaled[0]
        )
    finally:
        set_full_size_decode(False)
    assert not full_size_decode()


def test_feature_cache_tells_the_decodes_apart(tmp_path, monkeypatch):
    monkeypatch.delenv(FULL_SIZE_DECODE_VARIABLE, raising=False)
    paths = [_stored_jpeg(tmp_path / "p.jpg", 320, 240)]
    options = dict(image_size=(64, 64), verbose=0)
    encoder = keras.layers.Identity()
    scaled = np.asarray(
        cache_features(encoder, paths, tmp_path / "c", **options)
    )
    monkeypatch.setenv(FULL_SIZE_DECODE_VARIABLE, "1")
    full = np.asarray(cache_features(encoder, paths, tmp_path / "c", **options))
    np.testing.assert_array_equal(
        full[0], read_image(paths[0], (64, 64), full_size_decode=True)
    )
    np.testing.assert_array_equal(
        scaled[0], read_image(paths[0], (64, 64), full_size_decode=False)
    )
    assert np.abs(full.astype(int) - scaled).max() > 0


def test_bad_image_size_and_option_are_named(tmp_path):
    path = _stored_jpeg(tmp_path / "p.jpg", 32, 32)
    with pytest.raises(ValueError, match="image_size"):
        read_image(path, (0, 5))
    with pytest.raises(ValueError, match="image_size"):
        read_image(path, 5)
    with pytest.raises(TypeError, match="full_size_decode"):
        read_image(path, (4, 4), full_size_decode="yes")
    with pytest.raises(TypeError, match="enabled"):
        set_full_size_decode(1)


def test_pipelines_report_an_unreadable_file_by_name(tmp_path, tokenizer):
    good = _photo_jpeg(tmp_path / "good.jpg", 8, 8, seed=0)
    bad = tmp_path / "cut.jpg"
    _truncated_jpeg(bad)
    paths = [good, str(bad)]
    references = [["i0"], ["i1"]]
    message = f"Cannot read the image file {str(bad)!r}: image file is trunc"

    dataset = CaptionPyDataset(
        paths, references, tokenizer, image_size=(4, 4), shuffle=False
    )
    with pytest.raises(ImageFileError, match=message):
        dataset[0]
    with pytest.raises(ImageFileError, match=message):
        cache_features(
            keras.layers.Identity(),
            paths,
            tmp_path / "cache",
            image_size=(4, 4),
            verbose=0,
        )
    # tf.data wraps the error in its own class; the line naming the file
    # is in its message.
    dataset = make_dataset(
        paths, references, tokenizer, image_size=(4, 4), shuffle=False
    )
    with pytest.raises(tf.errors.OpError, match=message):
        list(dataset)
