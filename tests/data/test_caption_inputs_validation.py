"""Input checks shared by `make_dataset` and `CaptionPyDataset`."""

import numpy as np
import pytest

from keras_captioning.data import CaptionPyDataset
from keras_captioning.data import make_dataset
from tests.data.caption_data_helpers import make_images

GOOD_REFERENCES = [["i0 r0"], ["i1 r0", "i1 r1"]]


@pytest.mark.parametrize(
    "images, references, error, match",
    [
        (make_images(2), [["i0"]], ValueError, "2 images and 1 reference"),
        (make_images(2), [["i0"], []], ValueError, r"references\[1\]=\[\]"),
        (make_images(2), [["i0"], "i1"], TypeError, r"wrap a single caption"),
        (make_images(2), [["i0"], [3]], TypeError, r"references\[1\]\[0\]=3"),
        (make_images(2), [["i0"], ["?!"]], ValueError, r"\[1\]\[0\]='\?!'"),
        (make_images(2), "i0 i1", TypeError, "`references` must be a list"),
        (
            make_images(2).astype("float32"),
            GOOD_REFERENCES,
            TypeError,
            "dtype uint8.*float32",
        ),
        (make_images(2)[..., 0], GOOD_REFERENCES, ValueError, r"\(2, 6, 5\)"),
        (
            np.zeros((2, 6, 5, 4), "uint8"),
            GOOD_REFERENCES,
            ValueError,
            r"\(2, 6, 5, 4\)",
        ),
        (make_images(0), [], ValueError, "holds no image"),
        ([], [], ValueError, "holds no image"),
        ("image.png", [["i0"]], TypeError, "list of image file paths"),
        (["missing.png"], [["i0"]], FileNotFoundError, "missing.png"),
        ([3], [["i0"]], TypeError, r"images\[0\]=3"),
    ],
)
@pytest.mark.parametrize("pipeline", [CaptionPyDataset, make_dataset])
def test_rejects_bad_inputs(
    pipeline, images, references, error, match, tokenizer
):
    with pytest.raises(error, match=match):
        pipeline(images, references, tokenizer)


@pytest.mark.parametrize(
    "options, error, match",
    [
        ({"batch_size": 0}, ValueError, "batch_size=0"),
        ({"batch_size": 2.0}, TypeError, "batch_size=2.0"),
        ({"reference_mode": "first"}, ValueError, "reference_mode='first'"),
        ({"image_size": (4,)}, ValueError, r"image_size=\(4,\)"),
        ({"image_size": (4, 0)}, ValueError, r"image_size=\(4, 0\)"),
        ({"image_size": (4.0, 4)}, ValueError, r"image_size=\(4.0, 4\)"),
        ({"shuffle": "yes"}, TypeError, "shuffle='yes'"),
        ({"seed": 1.5}, TypeError, "seed=1.5"),
        ({"seed": -1}, ValueError, "seed=-1"),
    ],
)
@pytest.mark.parametrize("pipeline", [CaptionPyDataset, make_dataset])
def test_rejects_bad_options(pipeline, options, error, match, tokenizer):
    with pytest.raises(error, match=match):
        pipeline(make_images(2), GOOD_REFERENCES, tokenizer, **options)


def test_rejects_a_vocabulary_list_as_tokenizer():
    with pytest.raises(TypeError, match="CaptionTokenizer"):
        CaptionPyDataset(make_images(2), GOOD_REFERENCES, ["i0", "i1"])
