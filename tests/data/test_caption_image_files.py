"""`caption_image_files` captions files in batches past unreadable ones."""

import numpy as np
import pytest
from PIL import Image

from keras_captioning.data import caption_image_files
from tests.captioners import colour_images
from tests.captioners import untrained_captioner


@pytest.fixture(scope="module")
def captioner():
    return untrained_captioner()


@pytest.fixture
def files(tmp_path):
    paths = []
    for index, image in enumerate(colour_images()[:3]):
        paths.append(str(tmp_path / f"{index}.png"))
        Image.fromarray(image).save(paths[-1])
    (tmp_path / "empty.jpg").write_bytes(b"")
    return paths[:1] + [str(tmp_path / "empty.jpg")] + paths[1:]


def test_captions_the_readable_files_in_order_and_reports_the_rest(
    captioner, files
):
    reported = []
    results, failures = caption_image_files(
        captioner,
        files,
        captioner.preprocessor.target_size,
        batch_size=2,
        verbose=0,
        on_failure=lambda path, error: reported.append((path, str(error))),
        strategy="greedy",
    )
    readable = [files[0], *files[2:]]
    assert [path for path, _, _ in results] == readable
    assert [caption for _, caption, _ in results] == captioner.caption(readable)
    assert all(isinstance(score, float) for _, _, score in results)
    assert failures == reported and [path for path, _ in failures] == [files[1]]
    assert "empty" in failures[0][1]


def test_images_of_their_own_sizes_are_captioned_one_at_a_time(
    captioner, files
):
    readable = [files[0], *files[2:]]
    results, failures = caption_image_files(
        captioner, readable, None, verbose=0
    )
    assert not failures and len(results) == 3
    assert np.isfinite([score for _, _, score in results]).all()


def test_bad_arguments_name_themselves(captioner, files):
    with pytest.raises(TypeError, match="`image_paths` must be a list"):
        caption_image_files(captioner, files[0])
    with pytest.raises(ValueError, match="batch_size"):
        caption_image_files(captioner, files, batch_size=0)
    with pytest.raises(ValueError, match="`verbose` must be 0 or 1"):
        caption_image_files(captioner, files, verbose=2)
