"""The `keras-captioning` command, run in-process and as a subprocess."""

import json
import os
import shutil
import subprocess

import keras
import pytest
from PIL import Image

from keras_captioning import cli
from tests.captioners import colour_images
from tests.captioners import untrained_captioner

SUBCOMMANDS = ("caption", "evaluate", "train", "export", "serve")
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A tiny untrained model, six PNGs in a folder, a truncated JPEG."""
    root = tmp_path_factory.mktemp("cli")
    captioner = untrained_captioner("init_inject")
    model_path = root / "captioner.keras"
    captioner.save(model_path)
    folder = root / "images"
    folder.mkdir()
    images = colour_images()
    paths = []
    for index, image in enumerate(images):
        path = folder / f"{index}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    truncated = root / "truncated.jpg"
    Image.fromarray(images[0]).save(root / "full.jpg", quality=95)
    data = (root / "full.jpg").read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    return {
        "root": root,
        "model": str(model_path),
        "folder": str(folder),
        "paths": paths,
        "captions": captioner.caption(images),
        "beam_captions": captioner.caption(
            images, strategy="beam", beam_width=2
        ),
        "truncated": str(truncated),
        "missing": str(root / "missing.png"),
    }


def test_bad_images_are_reported_and_the_others_captioned(files, capsys):
    code = cli.main(
        [
            "caption",
            files["model"],
            files["truncated"],
            files["folder"],
            files["missing"],
            "--format=json",
        ]
    )
    result = capsys.readouterr()
    assert code == cli.EXIT_FAILED, result.err[-2000:]
    records = json.loads(result.out)
    captioned = [r for r in records if "caption" in r]
    assert [r["image"] for r in captioned] == files["paths"]
    assert [r["caption"] for r in captioned] == files["captions"]
    assert len(set(files["captions"])) >= 5
    errors = [r for r in records if "error" in r]
    assert [r["image"] for r in errors] == [
        files["truncated"],
        files["missing"],
    ]
    # One stderr line per bad file, naming it.
    lines = [
        line
        for line in result.err.splitlines()
        if line.startswith("Cannot read the image file")
    ]
    assert len(lines) == 2
    assert repr(files["truncated"]) in lines[0]
    assert repr(files["missing"]) in lines[1]


@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_every_subcommand_has_help(subcommand, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([subcommand, "--help"])
    assert exit_info.value.code == cli.EXIT_OK
    output = capsys.readouterr().out
    assert output.startswith(f"usage: keras-captioning {subcommand}")


def test_text_and_tsv_formats(files, capsys):
    assert cli.main(["caption", files["model"], *files["paths"][:3]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{path}: {caption}"
        for path, caption in zip(files["paths"][:3], files["captions"])
    ]
    code = cli.main(
        [
            "caption",
            files["model"],
            files["folder"],
            "--format=tsv",
            "--strategy=beam",
            "--beam-width=2",
            "--batch-size=4",
        ]
    )
    assert code == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == ["image", "caption", "score"]
    assert [row[1] for row in rows[1:]] == files["beam_captions"]
    assert all(float(row[2]) <= 0 for row in rows[1:])


@pytest.mark.parametrize(
    "argv",
    [
        ["caption", "no-such-model.keras", "x.png"],
        ["caption", "{model}", "{root}/empty-folder"],
        ["caption", "{model}", "x.png", "--format=xml"],
        ["caption", "{model}", "x.png", "--beam-width=0"],
        ["export", "{model}", "{root}/out.onnx", "--quantize=dynamic"],
        ["evaluate", "{model}", "--karpathy-json=no.json", "--image-dir=."],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_with_2(files, argv, capsys):
    (files["root"] / "empty-folder").mkdir(exist_ok=True)
    argv = [
        arg.format(model=files["model"], root=files["root"]) for arg in argv
    ]
    try:
        code = cli.main(argv)
    except SystemExit as exit_info:  # argparse's own errors
        code = exit_info.code
    assert code == cli.EXIT_USAGE
    assert "error" in capsys.readouterr().err


def test_export_subcommand_writes_a_servable_model(files, capsys):
    if keras.backend.backend() != "tensorflow":
        pytest.skip("export runs on the tensorflow backend only")
    import tensorflow as tf

    output = str(files["root"] / "serving" / "captioner" / "1")
    assert cli.main(["export", files["model"], output]) == 0
    assert capsys.readouterr().out.strip() == output
    served = tf.saved_model.load(output)
    captions = served.serve(tf.constant(colour_images()))["captions"]
    assert [c.decode() for c in captions.numpy()] == files["captions"]
    # A second export into the same version folder is refused.
    assert cli.main(["export", files["model"], output]) == cli.EXIT_USAGE


def test_evaluate_scores_a_karpathy_split(files, capsys):
    records = [
        {
            "filename": os.path.basename(path),
            "split": "test",
            "sentences": [{"raw": caption}],
        }
        for path, caption in zip(files["paths"], files["captions"])
    ]
    split_file = files["root"] / "dataset.json"
    split_file.write_text(json.dumps({"images": records}))
    code = cli.main(
        [
            "evaluate",
            files["model"],
            f"--karpathy-json={split_file}",
            f"--image-dir={files['folder']}",
            "--strategy=greedy",
            "--format=json",
        ]
    )
    assert code == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["images"] == 6
    # The references are the model's own captions: perfect scores.
    assert scores["BLEU-1"] == pytest.approx(1.0)
    assert scores["ROUGE-L"] == pytest.approx(1.0)
    assert set(scores) >= {"BLEU-4", "CIDEr-D"}


def test_installed_entry_point_runs():
    command = shutil.which("keras-captioning")
    if command is None:
        pytest.skip("the package is not installed with its console script")
    result = subprocess.run(
        [command, "caption", "--help"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": PACKAGE_ROOT},
    )
    if "No module named 'keras_captioning.cli'" in result.stderr:
        pytest.skip("the installed keras-captioning predates the command")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--format" in result.stdout
