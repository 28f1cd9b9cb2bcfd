"""Data-parallel training over two processes on 127.0.0.1 (jax, CPU).

Each check starts `_multi_worker_run.py` processes with `KERAS_BACKEND=jax`
whatever the suite's backend, so they run once, in the jax-backend suite
(README's default suite has no jax installed), and are skipped elsewhere.
The port is picked free when the test runs and every process has a
timeout, so a hung peer cannot hang the suite.
"""

import importlib.util
import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import keras_captioning

PACKAGE_ROOT = pathlib.Path(keras_captioning.__file__).resolve().parents[1]
SCRIPT = pathlib.Path(__file__).with_name("_multi_worker_run.py")
TIMEOUT = 300

pytestmark = [
    pytest.mark.skipif(
        keras.backend.backend() != "jax",
        reason="runs once, in the jax-backend suite (it starts jax "
        "processes itself)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("jax") is None, reason="needs jax"
    ),
]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(num_processes, process_id, port, batch_size):
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(
        path for path in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if path
    )
    env.pop("XLA_FLAGS", None)
    return subprocess.Popen(
        [sys.executable, str(SCRIPT)]
        + [str(num_processes), str(process_id), str(port), str(batch_size)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process):
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"a process hung:\n{err[-3000:]}")
    assert process.returncode == 0, err[-3000:]
    facts = json.loads(out.strip().splitlines()[-1])
    assert pathlib.Path(facts["package"]).resolve().parents[1] == PACKAGE_ROOT
    return facts


@pytest.mark.large
@pytest.mark.slow
def test_two_processes_train_like_one_with_twice_the_batch():
    port = free_port()
    workers = [start(2, index, port, batch_size=8) for index in range(2)]
    try:
        first, second = [finish(worker) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    single = finish(start(1, 0, 0, batch_size=16))
    assert (first["process"], second["process"]) == (0, 1)
    assert first["processes"] == 2 and first["devices"] == 2
    # The comparison only means something if training moved the loss.
    assert single["loss"][-1] < single["loss"][0] - 1e-3
    for facts in (first, second):
        # One global batch of 16 rows per step, the same rows as the single
        # process's batch: the curves differ by float32 sums only.
        np.testing.assert_allclose(facts["loss"], single["loss"], rtol=1e-4)
        np.testing.assert_allclose(
            facts["val_loss"], single["val_loss"], rtol=1e-4
        )
    # Every process reports the same validation metrics.
    assert first["val_loss"] == second["val_loss"]
    print(
        "steps/s: 1 process (batch 16) "
        f"{single['steps_per_second']:.1f}, 2 processes (8 each) "
        f"{first['steps_per_second']:.1f}"
    )


@pytest.mark.large
def test_a_process_alone_waits_for_its_peer():
    # Process 0 of a 2-process cluster, started alone, must not train by
    # itself: it waits in `keras.distribution.initialize` (jax's own
    # timeout is minutes; the test stops it after a few seconds).
    process = start(2, 0, free_port(), batch_size=8)
    try:
        time.sleep(20)
        assert process.poll() is None, process.communicate()[1][-3000:]
    finally:
        process.kill()
        out, _ = process.communicate(timeout=60)
    assert "cluster ready" not in out
    assert '"loss"' not in out
