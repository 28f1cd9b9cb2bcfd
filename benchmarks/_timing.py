"""Timing, memory and reporting helpers shared by the benchmark scripts.

Each benchmark measures everything it compares in one process and one run,
interleaving the contenders round by round, so a load spike from another
process on a shared machine hits all of them rather than one.
"""

import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402


def wait(outputs):
    """Blocks until every tensor in `outputs` is computed.

    JAX dispatches asynchronously and TensorFlow may too; converting to NumPy
    is the one backend-independent way to wait for a result.
    """
    for leaf in keras.tree.flatten(outputs):
        keras.ops.convert_to_numpy(leaf)
    return outputs


def timed(function):
    """Wall-clock seconds one call of `function()` takes, result awaited."""
    return measured(function)[0]


def measured(function):
    """`(wall seconds, CPU seconds)` of one call of `function()`.

    CPU seconds are this process's, all threads together
    (`time.process_time`). On a machine shared with other work, wall time
    grows with the load while CPU time mostly does not, so a ratio of CPU
    times is the steadier check of a ratio of wall times.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    wait(function())
    return time.perf_counter() - wall, time.process_time() - cpu


def interleaved(functions, rounds):
    """Times every function once per round, in turn.

    Args:
        functions: dict of name -> zero-argument callable, already warmed up.
        rounds: int, how many times each function is timed.

    Returns:
        dict of name -> `(wall, cpu)`, two lists of seconds, one entry per
        round.
    """
    times = {name: ([], []) for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            wall, cpu = measured(function)
            times[name][0].append(wall)
            times[name][1].append(cpu)
    return times


def summary(seconds):
    """`(best, median)` of a list of seconds."""
    return min(seconds), statistics.median(seconds)


def load_average():
    """The 1-minute load average, or `nan` where the OS has none."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def describe_machine():
    """One line: backend, library versions, CPU count and current load."""
    versions = [f"keras {keras.__version__}"]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        versions.append(f"tensorflow {tf.__version__}")
    elif backend == "jax":
        import jax

        versions.append(f"jax {jax.__version__}")
    elif backend == "torch":
        import torch

        # Eager torch runs one small op after another; how many threads
        # share each op changes its speed on a busy CPU (OMP_NUM_THREADS).
        versions.append(
            f"torch {torch.__version__}, {torch.get_num_threads()} threads"
        )
    return (
        f"backend {backend} ({', '.join(versions)}), numpy {np.__version__}, "
        f"python {platform.python_version()}, {os.cpu_count()} CPUs "
        f"({platform.processor() or platform.machine()}), "
        f"load average {load_average():.1f}"
    )


def print_table(header, rows):
    """Prints rows of strings as an aligned plain-text table."""
    columns = list(zip(header, *rows))
    widths = [max(len(str(cell)) for cell in column) for column in columns]
    for line in (header, ["-" * width for width in widths], *rows):
        print(
            "  ".join(
                str(cell).rjust(width) if index else str(cell).ljust(width)
                for index, (cell, width) in enumerate(zip(line, widths))
            )
        )


def verdict(value, target, at_most):
    """`"met"` or `"NOT met"` for `value` against a target bound."""
    met = value <= target if at_most else value >= target
    return "met" if met else "NOT met"
