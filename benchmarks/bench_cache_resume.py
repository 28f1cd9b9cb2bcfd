"""How long a `cache_features` run killed at 90% takes to finish.

Times one full caching run, then starts the same run in a fresh process,
SIGKILLs it once 90% of the rows are recorded as finished, and times the
call that resumes it (all timings inside `cache_features`, so the start-up
of Python and TensorFlow is not counted). Prints both and their ratio.

    nice -n 5 python benchmarks/bench_cache_resume.py
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("CACHE_RUN_IMAGES", "960")
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data"))

import _cache_features_run as run  # noqa: E402

from keras_captioning.data import cache_features  # noqa: E402


def rows_done(cache_dir):
    for name in os.listdir(cache_dir):
        if name.endswith(".progress.json"):
            try:
                return json.loads((cache_dir / name).read_text())["rows_done"]
            except (OSError, ValueError):
                return 0
    return 0


def main():
    images = run.make_images()
    with tempfile.TemporaryDirectory() as directory:
        full_dir = pathlib.Path(directory, "full")
        start = time.perf_counter()
        cache_features(
            run.make_encoder(), images, full_dir, batch_size=4, verbose=0
        )
        full = time.perf_counter() - start

        cache_dir = pathlib.Path(directory, "killed")
        cache_dir.mkdir()
        env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
        process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests/data/_cache_features_run.py"),
                str(cache_dir),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        while rows_done(cache_dir) < 0.9 * len(images):
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_at = rows_done(cache_dir)

        start = time.perf_counter()
        cache_features(
            run.make_encoder(), images, cache_dir, batch_size=4, verbose=0
        )
        resumed = time.perf_counter() - start
    print(f"images: {len(images)}, killed after {killed_at} finished rows")
    print(f"full run: {full:.2f} s; resumed run: {resumed:.2f} s")
    print(f"ratio: {resumed / full:.2f} (target <= 0.25)")


if __name__ == "__main__":
    main()
