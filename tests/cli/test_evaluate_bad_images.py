"""`evaluate` goes on past missing and unreadable images, as `caption` does:
one line on stderr, the rest scored, exit code 1 (0 with --skip-missing)."""

import contextlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from keras_captioning import cli
from tests.cli._tiny_captioner import save_tiny_captioner
from tests.cli.test_error_policy import assert_one_error_line

CAPTIONS = ["a red square", "a blue square", "a red circle", "a blue circle"]


@pytest.fixture(scope="module")
def model_and_images(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate_bad")
    model = save_tiny_captioner(
        root / "captioner.keras", ["red", "blue", "square", "circle", "a"]
    )
    images = root / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for index in range(len(CAPTIONS)):
        pixels = rng.integers(0, 255, (24, 32, 3), dtype="uint8")
        Image.fromarray(pixels).save(images / f"{index}.jpg", quality=90)
    # Sound header, data cut short: found only when decoded.
    encoded = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype="uint8")).save(
        encoded, format="JPEG", quality=95
    )
    (images / "cut.jpg").write_bytes(encoded.getvalue()[:700])
    (images / "notes.jpg").write_text("trip notes")
    return {"root": root, "model": str(model), "images": images}


def write_split(root, names, name):
    records = [
        {"filename": file, "split": "test", "sentences": [{"raw": caption}]}
        for file, caption in names
    ]
    path = root / name
    path.write_text(json.dumps({"images": records}))
    return path


def evaluate(files, split, capsys, *extra):
    argv = [
        "evaluate",
        files["model"],
        f"--karpathy-json={split}",
        f"--image-dir={files['images']}",
        "--strategy=greedy",
        "--format=json",
        "--quiet",
        *extra,
    ]
    try:
        code = cli.main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


GOOD = [(f"{i}.jpg", caption) for i, caption in enumerate(CAPTIONS)]


@pytest.fixture(scope="module")
def good_scores(model_and_images):
    split = write_split(model_and_images["root"], GOOD, "good.json")
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        code = cli.main(
            [
                "evaluate",
                model_and_images["model"],
                f"--karpathy-json={split}",
                f"--image-dir={model_and_images['images']}",
                "--strategy=greedy",
                "--format=json",
                "--quiet",
            ]
        )
    assert code == cli.EXIT_OK
    return json.loads(captured.getvalue())


def test_skips_bad_images_scores_the_rest_and_exits_1(
    model_and_images, good_scores, capsys
):
    names = [
        GOOD[0],
        ("missing.jpg", "a red square"),
        GOOD[1],
        ("notes.jpg", "a blue square"),
        GOOD[2],
        ("cut.jpg", "a red circle"),
        GOOD[3],
    ]
    split = write_split(model_and_images["root"], names, "bad.json")
    code, out, err = evaluate(model_and_images, split, capsys)
    assert code == cli.EXIT_FAILED, err
    assert "Traceback" not in err
    scores = json.loads(out)
    assert scores["images"] == 4
    assert scores["skipped"] == 3
    # Exactly the scores of the four good images alone.
    for name in ("BLEU-1", "BLEU-4", "ROUGE-L", "CIDEr-D"):
        assert scores[name] == pytest.approx(good_scores[name])
    lines = [line for line in err.splitlines() if line.startswith("Skipped")]
    # One line for the files found from their headers, one for the file
    # that failed when decoded.
    assert len(lines) == 2, err
    assert "2 of 7 test images" in lines[0]
    assert "missing.jpg" in lines[0] and "notes.jpg" in lines[0]
    assert "1 of 5 test images" in lines[1] and "cut.jpg" in lines[1]


def test_skip_missing_makes_skipping_expected_exit_0(model_and_images, capsys):
    names = [GOOD[0], ("notes.jpg", "a blue square"), GOOD[1]]
    split = write_split(model_and_images["root"], names, "notes.json")
    code, out, err = evaluate(model_and_images, split, capsys, "--skip-missing")
    assert code == cli.EXIT_OK, err
    assert json.loads(out)["skipped"] == 1
    assert "Skipped 1 of 3 test images" in err


def test_text_output_prints_the_scores_after_a_skip(model_and_images, capsys):
    names = [("missing.jpg", "a red square"), GOOD[0]]
    split = write_split(model_and_images["root"], names, "text.json")
    code, out, err = evaluate(model_and_images, split, capsys, "--format=text")
    assert code == cli.EXIT_FAILED, err
    assert out.splitlines()[0].startswith("BLEU-1 ")
    assert "Skipped 1 of 2" in err


def test_no_readable_image_is_one_error_line(model_and_images, capsys):
    names = [("missing.jpg", "a red square"), ("cut.jpg", "a red circle")]
    split = write_split(model_and_images["root"], names, "none.json")
    code, out, err = evaluate(model_and_images, split, capsys)
    assert code == cli.EXIT_FAILED
    assert out == ""
    assert_one_error_line(err, "evaluate", lines=3)
    assert "none of the 2 test images can be read" in err


def test_help_text(capsys):
    with pytest.raises(SystemExit):
        cli.main(["evaluate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "is skipped" in text
    assert "exit with 0 rather than 1" in text
