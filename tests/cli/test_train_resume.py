"""`keras-captioning train` resumes after SIGKILL and after Ctrl-C.

The real command runs in a fresh process on a tiny Karpathy-style dataset;
the test waits until the backup of the first epoch exists, kills or
interrupts the process, then runs the same command again.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from PIL import Image

from tests.cli._signals import default_sigint

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
EPOCHS = 3

# Each test runs the command two or three times (about 40 s a run on two
# busy CPU cores).
pytestmark = [
    pytest.mark.slow,
    # Kill and resume runs of whole processes: the large tier.
    pytest.mark.large,
    # Each test runs the command several times in fresh processes; the
    # backup logic is the command's, not the backend's.
    pytest.mark.skipif(
        keras.backend.backend() != "tensorflow",
        reason="runs once, in the default-backend suite",
    ),
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """64 training images (5 captions each), 2 validation, 2 test."""
    root = tmp_path_factory.mktemp("resume")
    images = root / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    records = []
    words = ("red", "blue", "green", "square", "circle")
    for index in range(68):
        split = "train" if index < 64 else ("val" if index < 66 else "test")
        name = f"{index}.png"
        pixels = rng.integers(0, 256, (16, 16, 3), dtype="uint8")
        Image.fromarray(pixels).save(images / name)
        sentences = [
            {"raw": f"a {words[(index + k) % 5]} {words[k % 5]}"}
            for k in range(5)
        ]
        records.append(
            {"filename": name, "split": split, "sentences": sentences}
        )
    split_file = root / "dataset.json"
    split_file.write_text(json.dumps({"images": records}))
    return root, str(split_file), str(images)


def command(dataset, output, *extra):
    root, split_file, images = dataset
    return [
        sys.executable,
        "-m",
        "keras_captioning.cli",
        "train",
        f"--karpathy-json={split_file}",
        f"--image-dir={images}",
        f"--output-dir={output}",
        f"--cache-dir={root / 'cache'}",
        "--encoder=simple_cnn",
        "--image-size=16",
        f"--epochs={EPOCHS}",
        "--batch-size=2",
        "--min-count=1",
        "--units=8",
        "--embedding-dim=4",
        "--feature-units=8",
        "--beam-width=1",
        "--verbose=0",
        *extra,
    ]


def env():
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    environment["PYTHONPATH"] = PACKAGE_ROOT
    return environment


def kept_epoch(backup):
    """The epoch count in the backup's metadata, or 0."""
    try:
        with open(os.path.join(backup, "training_metadata.json")) as file:
            return json.load(file)["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def stop_after_first_epoch(argv, backup, sig):
    process = subprocess.Popen(
        argv,
        env=env(),
        cwd=PACKAGE_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 240
    while kept_epoch(backup) < 1:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no backup after 240 s"
        time.sleep(0.02)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr


def run_command(argv):
    return subprocess.run(
        argv,
        env=env(),
        cwd=PACKAGE_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def rerun(argv):
    result = run_command(argv)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def resume_line(stdout):
    lines = [line for line in stdout.splitlines() if "Resuming" in line]
    assert len(lines) == 1, stdout
    return lines[0]


def refused_in_one_line(argv, backup):
    result = run_command(argv)
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        f"keras-captioning train: error: cannot resume from the backup in "
        f"{backup}: it does not fit this model"
    )
    assert lines[0].endswith("Add --fresh to start over.")


# The cached-features run resumes through the same backup code; it is a
# large case (fit_on_features's in-process resume runs by default).
@pytest.mark.parametrize(
    "freeze",
    [False, pytest.param(True, marks=pytest.mark.large)],
    ids=["images", "cached"],
)
def test_sigkill_then_the_same_command_resumes(dataset, tmp_path, freeze):
    output = tmp_path / "out"
    backup = str(output / "backup")
    argv = command(dataset, output, *(["--freeze-encoder"] if freeze else []))
    code, _, stderr = stop_after_first_epoch(argv, backup, signal.SIGKILL)
    assert code == -signal.SIGKILL, stderr[-3000:]
    kept = kept_epoch(backup)
    assert 1 <= kept < EPOCHS
    if not freeze:
        # A backup of other options is refused and left as it was.
        refused_in_one_line([*argv, "--units=16"], backup)
        assert kept_epoch(backup) == kept
    stdout = rerun(argv)
    assert re.search(
        rf"Resuming from the backup in .*backup at epoch {kept + 1} of "
        rf"{EPOCHS}; --fresh starts over\.",
        resume_line(stdout),
    )
    assert (output / "captioner.keras").exists()
    # A finished run deletes its backup; the next run starts over.
    assert not os.path.exists(backup)


def test_ctrl_c_keeps_the_last_epoch_and_fresh_starts_over(dataset, tmp_path):
    output = tmp_path / "out"
    backup = str(output / "backup")
    argv = command(dataset, output)
    code, _, stderr = stop_after_first_epoch(argv, backup, signal.SIGINT)
    assert code == 130, stderr[-3000:]
    kept = kept_epoch(backup)
    assert 1 <= kept < EPOCHS
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr, stderr
    assert lines[-1] == (
        f"keras-captioning: interrupted; epoch {kept} of {EPOCHS} is kept "
        f"in {backup}; run the same command again to resume."
    )
    # The backup is the one a SIGKILL leaves (resumed in the tests above);
    # --fresh ignores it, and the finished run deletes it.
    stdout = rerun([*command(dataset, output, "--epochs=1"), "--fresh"])
    assert "Resuming" not in stdout
    assert (output / "captioner.keras").exists()
    assert not os.path.exists(backup)
