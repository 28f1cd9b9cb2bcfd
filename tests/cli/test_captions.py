"""`train --captions` / `evaluate --captions` and the bad-image policy."""

import json

import numpy as np
import pytest
from PIL import Image

from keras_captioning import cli
from tests.cli._tiny_captioner import save_tiny_captioner
from tests.cli.test_error_policy import TRAIN_TINY
from tests.cli.test_error_policy import assert_one_error_line
from tests.cli.test_error_policy import run_in_process

COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220)}


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """20 photos, a Kaggle-style captions.txt and a COCO annotation file."""
    root = tmp_path_factory.mktemp("own_data")
    images = root / "Images"
    images.mkdir()
    rows = ["image,caption"]
    coco = {"images": [], "annotations": []}
    for index in range(20):
        colour = "red" if index % 2 else "blue"
        name = f"{index:03d}.jpg"
        pixels = np.full((24, 32, 3), COLOURS[colour], "uint8")
        Image.fromarray(pixels).save(images / name)
        rows += [f"{name},a {colour} square", f'{name},"a square, {colour}"']
        coco["images"].append({"id": index, "file_name": name})
        coco["annotations"].append(
            {"image_id": index, "id": index, "caption": f"a {colour} square"}
        )
    (root / "captions.txt").write_text("\n".join(rows) + "\n")
    (root / "annotations").mkdir()
    (root / "annotations" / "captions_Images2017.json").write_text(
        json.dumps(coco)
    )
    return root


def with_bad_files(photos, tmp_path):
    rows = (photos / "captions.txt").read_text().splitlines()
    (photos / "Images" / "notes.txt").write_text("trip notes")
    (photos / "Images" / "empty.jpg").write_bytes(b"")
    rows += ["notes.txt,a red square", "empty.jpg,a blue square"]
    path = tmp_path / "captions.txt"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_train_stops_before_training_naming_the_bad_files(
    photos, tmp_path, capsys
):
    argv = [
        "train",
        f"--captions={with_bad_files(photos, tmp_path)}",
        f"--image-dir={photos / 'Images'}",
        f"--output-dir={tmp_path / 'out'}",
        *TRAIN_TINY,
    ]
    code, stderr = run_in_process(argv, capsys)
    assert code == cli.EXIT_FAILED
    assert_one_error_line(stderr, "train")
    assert "are missing or not readable images" in stderr
    assert "--skip-missing" in stderr
    assert not (tmp_path / "out" / "captioner.keras").exists()


@pytest.mark.large
def test_train_with_skip_missing_trains_without_them(photos, tmp_path, capsys):
    argv = [
        "train",
        f"--captions={with_bad_files(photos, tmp_path)}",
        f"--image-dir={photos / 'Images'}",
        f"--output-dir={tmp_path / 'out'}",
        "--skip-missing",
        *TRAIN_TINY,
    ]
    code, stderr = run_in_process(argv, capsys)
    assert code == cli.EXIT_OK, stderr
    assert "Traceback" not in stderr
    skipped = [line for line in stderr.splitlines() if "Skipped" in line]
    # Both bad files fall in one split or two: two skipped in all.
    assert sum(int(line.split()[1]) for line in skipped) == 2
    assert (tmp_path / "out" / "captioner.keras").exists()


def test_evaluate_scores_a_coco_file(photos, tmp_path, capsys):
    model = tmp_path / "captioner.keras"
    save_tiny_captioner(model, ["red", "blue", "square", "a"])
    argv = [
        "evaluate",
        str(model),
        f"--captions={photos / 'annotations' / 'captions_Images2017.json'}",
        f"--image-dir={photos / 'Images'}",
        "--format=json",
        "--strategy=greedy",
        "--quiet",
    ]
    code, stderr = run_in_process(argv, capsys)
    assert code == cli.EXIT_OK, stderr
    assert "read as 'coco'" in stderr
