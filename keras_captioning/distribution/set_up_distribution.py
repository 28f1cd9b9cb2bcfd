"""The one set-up of data parallelism from Keras's cluster variables."""

import os
import sys
import threading

import keras

JOB_ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
NUM_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"
PROCESS_ID = "KERAS_DISTRIBUTION_PROCESS_ID"


def set_up_distribution(timeout=300):
    """Joins the cluster Keras's variables describe and trains data-parallel.

    Reads the variables `keras.distribution.initialize` reads:
    `KERAS_DISTRIBUTION_JOB_ADDRESSES` (the coordinator's `host:port`,
    process 0's, first), `KERAS_DISTRIBUTION_NUM_PROCESSES` and
    `KERAS_DISTRIBUTION_PROCESS_ID`. Without them, or with one process,
    it does nothing and returns `None`. With several processes, on the JAX
    backend, it starts JAX's distributed runtime (waiting for every
    process to join), then makes `keras.distribution.DataParallel` over
    the devices of every process the global distribution: every model
    created afterwards is replicated, and each process trains on its own
    batches, one step being every process's batch together. The library's
    pipelines (`make_dataset`, `CaptionPyDataset`, `cache_features`) read
    only their process's shard of the rows, so the distribution does not
    shard datasets again (`auto_shard_dataset=False`): `batch_size` is per
    process. On a CPU it selects JAX's gloo collectives, which processes
    need to exchange gradients there.

    Call it first, before any Keras computation, in every process;
    `ImageCaptioner.save` then writes from process 0 only. Each process
    must use the same seed (`keras.utils.set_random_seed`) before creating
    the model, so the replicas start equal.

    JAX's wait for the other processes cannot be interrupted and ends in
    an abort with a stack dump. So if they have not all joined after
    `timeout` seconds, this process prints one line on stderr saying so
    and exits with code 1.

    Args:
        timeout: float. Seconds to wait for every process to join.
            Defaults to `300`.

    Returns:
        The `keras.distribution.DataParallel` set, or `None` when the
        variables describe no cluster of several processes.

    Raises:
        RuntimeError: for a cluster on another backend than JAX.
        ValueError: for a malformed variable, or a missing address or
            process id.

    Example:

    >>> import keras_captioning
    >>> # No KERAS_DISTRIBUTION_* variables: a single process.
    >>> print(keras_captioning.distribution.set_up_distribution())
    None
    """
    num_processes = _int_variable(NUM_PROCESSES, default=1)
    if num_processes < 2:
        return None
    if not timeout > 0:
        raise ValueError(f"`timeout` must be positive. Received: {timeout}")
    if keras.backend.backend() != "jax":
        raise RuntimeError(
            f"{NUM_PROCESSES}={num_processes} asks for several processes, "
            "which keras_captioning trains with keras.distribution on the "
            f"JAX backend only; run with KERAS_BACKEND=jax. Received: "
            f"backend={keras.backend.backend()!r}"
        )
    process_id = _int_variable(PROCESS_ID, default=None)
    address = os.environ.get(JOB_ADDRESSES, "").split(",")[0].strip()
    if process_id is None or not address:
        raise ValueError(
            f"{NUM_PROCESSES}={num_processes} needs {JOB_ADDRESSES} (process "
            f"0's host:port) and {PROCESS_ID} (0 to {num_processes - 1}) too."
        )
    import jax

    # The CPU client has no collectives between processes without this.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    joined = threading.Event()

    def stop_waiting():
        if not joined.wait(timeout):
            sys.stderr.write(
                f"keras_captioning: error: process {process_id} of "
                f"{num_processes} waited {timeout:g} s at {address} for the "
                "other processes of the cluster (KERAS_DISTRIBUTION_*) and "
                "stops: start every process, with the same address.\n"
            )
            sys.stderr.flush()
            os._exit(1)

    threading.Thread(target=stop_waiting, daemon=True).start()
    try:
        jax.distributed.initialize(
            address,
            num_processes,
            process_id,
            # JAX's own deadline, after ours: it aborts the process.
            initialization_timeout=int(timeout) + 60,
        )
    finally:
        joined.set()
    distribution = keras.distribution.DataParallel(
        devices=keras.distribution.list_devices(), auto_shard_dataset=False
    )
    keras.distribution.set_distribution(distribution)
    return distribution


def _int_variable(name, default):
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(
            f"{name} must be an integer. Received: {name}={text!r}"
        ) from None
