"""`keras-captioning train` takes its cluster from Keras's variables.

Two processes started with `KERAS_DISTRIBUTION_JOB_ADDRESSES`,
`KERAS_DISTRIBUTION_NUM_PROCESSES=2` and `KERAS_DISTRIBUTION_PROCESS_ID`
0 and 1 on 127.0.0.1 (JAX backend, CPU) train one data-parallel model,
written by process 0 only; a process started alone with that cluster
stops after its timeout with one line saying why. Malformed variables
are one usage line, in process.
"""

import importlib.util
import os
import subprocess

import keras
import pytest

from tests.cli.test_error_policy import assert_one_error_line
from tests.cli.test_error_policy import run_in_process
from tests.cli.test_train_resume import PACKAGE_ROOT
from tests.cli.test_train_resume import command
from tests.cli.test_train_resume import dataset  # noqa: F401 (a fixture)
from tests.distribution.test_multi_worker import free_port

TIMEOUT = 300

# The tests that start processes start jax ones (the large tier, where CI
# has jax installed); the malformed-variables test runs in this process
# and needs no jax, so README's command runs it.
needs_jax = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow"
    or importlib.util.find_spec("jax") is None,
    reason="runs once, in the default-backend suite, with jax installed "
    "(it starts jax processes itself)",
)


def start(argv, port, process_id, wait=None):
    env = dict(os.environ, KERAS_BACKEND="jax", PYTHONPATH=PACKAGE_ROOT)
    env.pop("XLA_FLAGS", None)
    env.update(
        KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{port}",
        KERAS_DISTRIBUTION_NUM_PROCESSES="2",
        KERAS_DISTRIBUTION_PROCESS_ID=str(process_id),
    )
    if wait is not None:
        env["KERAS_CAPTIONING_DISTRIBUTION_TIMEOUT"] = str(wait)
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.Popen(argv, env=env, cwd=PACKAGE_ROOT, text=True, **pipes)


def finish(process):
    """`(exit code, stdout, stderr)`; a process that hangs fails the test."""
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"a process hung:\n{process.communicate()[1][-3000:]}")
    return process.returncode, out, err


def quick(argv):
    """The resume test's command, for 1 epoch on 16 images."""
    return [*argv, "--epochs=1", "--max-train-images=16"]


@pytest.mark.large  # It starts processes.
@needs_jax
def test_two_processes_train_one_model_that_process_0_writes(
    dataset,  # noqa: F811
    tmp_path,
):
    port = free_port()
    outputs = [tmp_path / f"process-{index}" for index in range(2)]
    processes = [
        start(quick(command(dataset, output)), port, index)
        for index, output in enumerate(outputs)
    ]
    try:
        results = [finish(process) for process in processes]
    finally:
        for process in processes:
            process.kill()
    for index, (code, out, err) in enumerate(results):
        assert code == 0, err[-3000:]
        assert (
            f"Process {index} of a cluster: training data-parallel over 2 "
            "devices" in out
        ), out
    # One model, written by process 0; both report its test scores.
    assert (outputs[0] / "captioner.keras").is_file()
    assert not (outputs[1] / "captioner.keras").exists()
    scores = [
        [line for line in out.splitlines() if line.startswith("Test scores")]
        for _, out, _ in results
    ]
    assert scores[0] and scores[0] == scores[1]


@pytest.mark.large
@needs_jax
def test_a_process_alone_stops_after_its_timeout_with_one_line(
    dataset,  # noqa: F811
    tmp_path,
):
    process = start(command(dataset, tmp_path), free_port(), 0, wait=5)
    code, out, err = finish(process)
    assert code == 1, err[-3000:]
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[-3000:]
    assert "process 0 of 2 waited 5 s" in lines[0]
    assert "Test scores" not in out
    assert not (tmp_path / "captioner.keras").exists()


@pytest.mark.parametrize(
    "variables, expected",
    [
        ({"KERAS_CAPTIONING_DISTRIBUTION_TIMEOUT": "soon"}, "soon"),
        ({"KERAS_DISTRIBUTION_NUM_PROCESSES": "two"}, "must be an integer"),
    ],
)
def test_malformed_cluster_variables_are_one_usage_line(
    dataset,  # noqa: F811
    tmp_path,
    monkeypatch,
    capsys,
    variables,
    expected,
):
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    argv = command(dataset, tmp_path)[3:]  # In process: from "train" on.
    code, stderr = run_in_process(argv, capsys)
    assert code == 2
    assert_one_error_line(stderr, "train")
    assert expected in stderr
