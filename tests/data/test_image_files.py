"""`ImageFiles` reads files on demand and records the ones that fail."""

import numpy as np
import pytest
from PIL import Image

from keras_captioning.data import ImageFileError
from keras_captioning.data import ImageFiles
from keras_captioning.data import read_image


def test_reads_on_demand_and_records_failures_as_black(tmp_path):
    good = str(tmp_path / "good.png")
    Image.fromarray(np.full((9, 7, 3), 120, "uint8")).save(good)
    (tmp_path / "empty.jpg").write_bytes(b"")
    paths = [good, str(tmp_path / "empty.jpg"), str(tmp_path / "gone.png")]
    files = ImageFiles(paths, (4, 5))
    assert len(files) == 3 and files.failed == {}
    np.testing.assert_array_equal(files[0], read_image(good, (4, 5)))
    batch = files[1:]
    assert batch.shape == (2, 4, 5, 3) and batch.dtype == np.uint8
    assert not batch.any()  # Read as black.
    assert list(files.failed) == paths[1:]
    assert "empty" in files.failed[paths[1]]
    assert "no such file" in files.failed[paths[2]]


def test_without_a_size_files_keep_theirs_and_a_failure_raises(tmp_path):
    good = str(tmp_path / "good.png")
    Image.fromarray(np.full((9, 7, 3), 120, "uint8")).save(good)
    files = ImageFiles([good, str(tmp_path / "gone.png")], None)
    assert files[0].shape == (9, 7, 3)
    with pytest.raises(ImageFileError, match="no such file"):
        files[1]
    assert list(files.failed) == [str(tmp_path / "gone.png")]


@pytest.mark.parametrize("image_size", [(4,), 4, (4, 0)])
def test_a_bad_image_size_is_a_value_error(image_size):
    with pytest.raises(ValueError, match="image_size"):
        ImageFiles(["a.png"], image_size)
