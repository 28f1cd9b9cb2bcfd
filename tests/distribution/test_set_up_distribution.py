"""`set_up_distribution` reads Keras's cluster variables; `process_index`.

Joining a real cluster is tested through the command, in two processes
(tests/cli/test_train_cluster.py); these check the cases that stay in
one process.
"""

import keras
import pytest

from keras_captioning.distribution import process_index
from keras_captioning.distribution import set_up_distribution

VARIABLES = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)


@pytest.fixture
def cluster(monkeypatch):
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def set_variables(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"KERAS_DISTRIBUTION_{name.upper()}", value)

    return set_variables


def test_without_a_cluster_nothing_is_set(cluster):
    assert set_up_distribution() is None
    cluster(num_processes="1", job_addresses="127.0.0.1:1", process_id="0")
    assert set_up_distribution() is None
    assert keras.distribution.distribution() is None
    assert process_index() == 0


@pytest.mark.parametrize(
    "values, message",
    [
        ({"num_processes": "two"}, "must be an integer"),
        ({"num_processes": "2", "process_id": "0"}, "needs"),
        ({"num_processes": "2", "job_addresses": "127.0.0.1:1"}, "needs"),
    ],
)
def test_malformed_variables_are_refused(cluster, values, message):
    cluster(**values)
    if keras.backend.backend() != "jax" and message == "needs":
        message = "JAX backend only"
    with pytest.raises((ValueError, RuntimeError), match=message):
        set_up_distribution()


@pytest.mark.skipif(
    keras.backend.backend() == "jax", reason="the refusal of other backends"
)
def test_a_cluster_on_another_backend_is_refused(cluster):
    cluster(num_processes="2", job_addresses="127.0.0.1:1", process_id="0")
    with pytest.raises(RuntimeError, match="KERAS_BACKEND=jax"):
        set_up_distribution()
