"""A `save` / `export` killed with SIGKILL leaves the previous file intact.

A good model is written at a path first; a fresh process
(`_save_run.py`) then writes another model over that path again and again
and is killed with SIGKILL at a random moment. Whatever is at the path
afterwards must load and be one of the two models, whole.
"""

import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import keras_captioning

PACKAGE_ROOT = pathlib.Path(keras_captioning.__file__).resolve().parents[1]
SCRIPT = pathlib.Path(__file__).with_name("_save_run.py")
sys.path.insert(0, str(SCRIPT.parent))
import _save_run as run  # noqa: E402

pytestmark = pytest.mark.backend_independent


def kill_while_writing(kind, path, delay):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p
    )
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), kind, str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.strip() == "writing", process.stderr.read()[-3000:]
        time.sleep(delay)
        assert process.poll() is None, "the run ended before the kill"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL


def weights_of(captioner):
    return [np.asarray(w) for w in captioner.get_weights()]


def check_saved(path, candidates):
    loaded = keras.saving.load_model(path)
    weights = weights_of(loaded)
    matches = [
        all(np.array_equal(a, b) for a, b in zip(weights, candidate))
        for candidate in candidates
    ]
    assert any(matches), "the file at the path is neither model"


def save_kills(tmp_path, delays):
    path = tmp_path / "captioner.keras"
    old = run.make_captioner(seed=0)
    old.save(path)
    candidates = [weights_of(old), weights_of(run.make_captioner(seed=1))]
    for delay in delays:
        kill_while_writing("save", path, delay)
        check_saved(path, candidates)
    leftovers = [n for n in os.listdir(tmp_path) if n.startswith(".")]
    # The next save clears what the killed ones left behind.
    old.save(path)
    check_saved(path, candidates[:1])
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]
    return leftovers


def test_killed_save_keeps_the_previous_model(tmp_path):
    save_kills(tmp_path, [0.5])


@pytest.mark.large
def test_five_random_save_kills(tmp_path):
    rng = random.Random(22)
    save_kills(tmp_path, [rng.uniform(0.0, 2.0) for _ in range(5)])


@pytest.mark.slow
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="export needs tensorflow"
)
# Processes killed while they export: the large tier, five kills at random
# points (a single kill would repeat the first of them).
@pytest.mark.large
@pytest.mark.parametrize("kills", [5])
def test_random_export_kills(tmp_path, kills):
    import tensorflow as tf

    path = tmp_path / "served"
    images = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), "uint8")
    old = run.make_captioner(seed=0)
    old.export(path)
    candidates = []
    for captioner in (old, run.make_captioner(seed=1)):
        expected = captioner.generate(images, return_scores=True)
        candidates.append(
            (captioner.detokenize(expected["token_ids"]), expected["scores"])
        )
    # The two models caption these images differently, so the captions
    # tell which one is served.
    assert candidates[0][0] != candidates[1][0]
    rng = random.Random(22)
    for _ in range(kills):
        kill_while_writing("export", path, rng.uniform(0.0, 6.0))
        # A whole SavedModel, the previous or the new one: it serves the
        # captions and scores of one of them.
        served = tf.saved_model.load(str(path))
        result = served.serve(images)
        captions = [text.decode() for text in result["captions"].numpy()]
        scores = result["scores"].numpy()
        assert any(
            captions == expected_captions
            and np.allclose(scores, expected_scores, atol=1e-4)
            for expected_captions, expected_scores in candidates
        ), f"served {captions} {scores}, neither model's: {candidates}"
    assert not [n for n in os.listdir(tmp_path) if n.endswith("-old")]
