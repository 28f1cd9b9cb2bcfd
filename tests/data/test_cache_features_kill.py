"""`cache_features` under SIGKILL: never a short or mixed cache, and resume.

A fresh process (`_cache_features_run.py`) caches features and is killed
with SIGKILL once a chosen number of rows is recorded as finished, that is
somewhere inside the next batch. The cache folder must then hold no
visible cache (or a complete one), and the next call, here in the test's
process, must encode only the images after the last finished batch and
return exactly the features of an uninterrupted run.
"""

import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import keras_captioning
from keras_captioning.data import cache_features

PACKAGE_ROOT = pathlib.Path(keras_captioning.__file__).resolve().parents[1]
SCRIPT = pathlib.Path(__file__).with_name("_cache_features_run.py")
sys.path.insert(0, str(SCRIPT.parent))
import _cache_features_run as run  # noqa: E402


def start_script(cache_dir):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(
        path for path in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if path
    )
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(cache_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def rows_done(cache_dir):
    for name in os.listdir(cache_dir) if cache_dir.exists() else ():
        if name.endswith(".progress.json"):
            try:
                return json.loads((cache_dir / name).read_text())["rows_done"]
            except (OSError, ValueError):
                return 0
    return 0


def kill_after_rows(cache_dir, rows, timeout=300):
    """Starts a caching run and SIGKILLs it once `rows` are finished."""
    process = start_script(cache_dir)
    deadline = time.monotonic() + timeout
    try:
        while rows_done(cache_dir) < rows:
            if process.poll() is not None:
                pytest.fail(
                    f"the run ended before {rows} rows: "
                    f"{process.stderr.read()[-3000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail("the caching run did not progress in time")
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    return rows_done(cache_dir)


def check_no_short_cache(cache_dir):
    """A visible cache is complete: rows of every image, with its record."""
    visible = sorted(n for n in os.listdir(cache_dir) if n[0] != ".")
    for name in visible:
        if name.endswith(".npy"):
            assert name.removesuffix(".npy") + ".json" in visible
            assert len(np.load(cache_dir / name)) == run.NUM_IMAGES
    return visible


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    cache_dir = tmp_path_factory.mktemp("reference")
    return cache_features(
        run.make_encoder(), run.make_images(), cache_dir, verbose=0
    )


def resume_and_check(cache_dir, finished, reference, monkeypatch):
    encoder = run.make_encoder()
    seen = []
    predict_on_batch = encoder.predict_on_batch

    def counted(batch):
        seen.append(len(batch))
        return predict_on_batch(batch)

    monkeypatch.setattr(encoder, "predict_on_batch", counted)
    features = cache_features(
        encoder,
        run.make_images(),
        cache_dir,
        batch_size=run.BATCH_SIZE,
        verbose=0,
    )
    # Only the images after the last finished batch were encoded.
    assert sum(seen) == run.NUM_IMAGES - finished
    np.testing.assert_allclose(features, reference, rtol=1e-6, atol=1e-7)
    assert len(check_no_short_cache(cache_dir)) == 2
    assert not [n for n in os.listdir(cache_dir) if n[0] == "."]


@pytest.mark.large
def test_killed_at_90_percent_resumes(tmp_path, reference, monkeypatch):
    cache_dir = tmp_path / "cache"
    finished = kill_after_rows(cache_dir, int(0.9 * run.NUM_IMAGES))
    assert finished < run.NUM_IMAGES
    assert check_no_short_cache(cache_dir) == []
    resume_and_check(cache_dir, finished, reference, monkeypatch)


# A large case of test_killed_at_90_percent_resumes (one kill).
@pytest.mark.large
def test_five_random_kill_points(tmp_path, reference, monkeypatch):
    rng = random.Random(22)
    for attempt in range(5):
        cache_dir = tmp_path / f"cache-{attempt}"
        target = rng.randrange(1, run.NUM_IMAGES)
        finished = kill_after_rows(cache_dir, target)
        assert check_no_short_cache(cache_dir) == []
        resume_and_check(cache_dir, finished, reference, monkeypatch)


@pytest.mark.large
def test_a_partial_run_is_not_resumed_under_another_key(
    tmp_path, reference, monkeypatch
):
    cache_dir = tmp_path / "cache"
    kill_after_rows(cache_dir, run.NUM_IMAGES // 2)
    # Another backbone, another image size, another list of images: each
    # gets its own key, so none of them reads the killed run's rows.
    other_images = run.make_images()[::-1].copy()
    cases = [
        (run.make_encoder(filters=8), run.make_images(), None),
        (run.make_encoder(), other_images, None),
        (run.make_encoder(), run.make_images(), (32, 32)),
    ]
    keys = set()
    for encoder, images, image_size in cases:
        features = cache_features(
            encoder, images, cache_dir, image_size=image_size, verbose=0
        )
        expected = encoder.predict(images, verbose=0)
        np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)
        keys = {n.split(".")[0] for n in os.listdir(cache_dir) if n[0] != "."}
    assert len(keys) == 3
    # The killed run's rows are still there, for the run that owns them.
    assert 0 < rows_done(cache_dir) < run.NUM_IMAGES
