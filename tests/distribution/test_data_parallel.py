"""Data-parallel training over two CPU devices matches one device.

A backend creates its devices once, when it starts, so each check runs
`_data_parallel_run.py` in a fresh process that sets up two devices first
(two logical CPUs for TensorFlow, two host devices for JAX), trains the same
small captioner with the same initial weights and data on one device and on
two, and prints both per-epoch loss curves. Without batch normalisation or
dropout and with captions of equal length, data parallelism changes only the
order of floating-point sums, so the curves and the trained weights must
agree to float32 rounding.
"""

import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_captioning

BACKEND = keras.backend.backend()
# The script must run the package under test, not whichever copy of it is
# installed.
PACKAGE_ROOT = pathlib.Path(keras_captioning.__file__).resolve().parents[1]
SCRIPT = pathlib.Path(__file__).with_name("_data_parallel_run.py")
# Float32 sums in a different order, over three epochs of four steps.
RTOL = 1e-4
WEIGHT_ATOL = 1e-4


def run_script(backend, environment=None):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(
        path for path in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if path
    )
    env.update(environment or {})
    result = subprocess.run(
        [sys.executable, str(SCRIPT), backend],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (
        f"{SCRIPT.name} {backend} failed:\n{result.stderr[-4000:]}"
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_same_training(facts):
    assert pathlib.Path(facts["package"]).resolve().parents[1] == PACKAGE_ROOT
    assert facts["replicas"] == 2
    single = np.array(facts["single"])
    distributed = np.array(facts["distributed"])
    # The comparison only means something if training moved the loss.
    assert single[-1] < single[0] - 1e-3
    np.testing.assert_allclose(distributed, single, rtol=RTOL)
    assert facts["max_weight_difference"] < WEIGHT_ATOL
    assert facts["same_captions"]


@pytest.mark.large
@pytest.mark.slow
@pytest.mark.skipif(
    BACKEND != "tensorflow", reason="tf.distribute needs the tensorflow backend"
)
def test_mirrored_strategy_matches_single_device():
    facts = run_script("tensorflow")
    assert facts["variable_is_mirrored"]
    assert_same_training(facts)


@pytest.mark.large
@pytest.mark.slow
@pytest.mark.skipif(
    BACKEND != "jax", reason="keras.distribution.DataParallel runs on jax"
)
def test_jax_data_parallel_matches_single_device():
    flags = os.environ.get("XLA_FLAGS", "")
    facts = run_script(
        "jax",
        {
            "XLA_FLAGS": (
                f"{flags} --xla_force_host_platform_device_count=2".strip()
            )
        },
    )
    assert facts["variable_devices"] == 2
    assert_same_training(facts)
