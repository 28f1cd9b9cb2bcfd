"""Teacher-forced forward time of `CaptionDecoder` in each conditioning mode.

One fixed size for every mode: batch 32, captions of 20 tokens, 49 image steps
(a 7x7 feature map) of 256 features, embedding 256, one LSTM layer of 512
units, a vocabulary of 5,000 words. Each mode runs inside the same compiled
inference function (`predict_on_batch`), after a warm-up call, and the median
of `--repeats` calls is printed with its ratio to `init_inject`.

`--train` times a training step instead (`train_on_batch`, sparse
cross-entropy, Adam) of the `--modes` given (default: all), taking turns
call by call so that a change in the machine's load reaches every mode
alike; it prints the median wall-clock and CPU time (all threads) per step
and their ratios to the first mode named. The top_down target: at most
1.15x attention's step.

    KERAS_BACKEND=tensorflow python benchmarks/bench_conditioning_modes.py
    KERAS_BACKEND=jax python benchmarks/bench_conditioning_modes.py --quick
    python benchmarks/bench_conditioning_modes.py --train \
        --modes attention top_down
"""

import argparse
import os
import pathlib
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

# Measure the checkout these scripts belong to, whichever copy of the
# package is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from keras_captioning.layers import CaptionDecoder  # noqa: E402
from keras_captioning.layers import conditioning  # noqa: E402


def build_model(mode, sizes):
    token_ids = keras.Input(shape=(sizes["steps"],), dtype="int32")
    features = keras.Input(shape=(sizes["image_steps"], sizes["feature_dim"]))
    decoder = CaptionDecoder(
        sizes["vocabulary_size"],
        embedding_dim=sizes["embedding_dim"],
        units=sizes["units"],
        conditioning=mode,
    )
    model = keras.Model([token_ids, features], decoder(token_ids, features))
    return model, make_batch(sizes)


def make_batch(sizes):
    rng = np.random.default_rng(0)
    batch = [
        rng.integers(
            1, sizes["vocabulary_size"], (sizes["batch"], sizes["steps"])
        ).astype("int32"),
        rng.random(
            (sizes["batch"], sizes["image_steps"], sizes["feature_dim"]),
            dtype="float32",
        ),
    ]
    return batch


def time_mode(mode, sizes, repeats):
    model, batch = build_model(mode, sizes)
    start = time.perf_counter()
    model.predict_on_batch(batch)
    compile_seconds = time.perf_counter() - start
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(batch)
        timings.append(time.perf_counter() - start)
    return compile_seconds, statistics.median(timings)


def time_training(modes, sizes, repeats):
    """Median `(wall, cpu)` seconds per training step of each mode."""
    steps = {}
    targets = np.random.default_rng(1).integers(
        1, sizes["vocabulary_size"], (sizes["batch"], sizes["steps"])
    )
    for mode in modes:
        model, batch = build_model(mode, sizes)
        model.compile(
            optimizer=keras.optimizers.Adam(1e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.train_on_batch(batch, targets)  # compiles the step
        steps[mode] = (model, batch)
    times = {mode: ([], []) for mode in modes}
    for _ in range(repeats):
        for mode, (model, batch) in steps.items():
            wall, cpu = time.perf_counter(), time.process_time()
            model.train_on_batch(batch, targets)
            times[mode][0].append(time.perf_counter() - wall)
            times[mode][1].append(time.process_time() - cpu)
    return {
        mode: (statistics.median(walls), statistics.median(cpus))
        for mode, (walls, cpus) in times.items()
    }


def step_macs(sizes):
    """Multiply-adds per caption token of a forward pass, `attention` and
    `top_down` (one language layer, LSTM cells, the defaults'
    `attention_units = units`): `{mode: (in the scan, outside it)}`.

    Counted from the layers' matrix products; the elementwise gate maths,
    the softmax and the embedding lookup are left out (under 2% here). A
    training step runs about three times these products (the forward, and
    the backward's two products per forward one) for both modes alike, so
    the ratio of the totals is the floor of the step's ratio when every
    product runs at the same speed; the products inside the scan are
    batch-sized (`batch` rows), slower per multiply-add than those outside.
    """
    e, f, u = sizes["embedding_dim"], sizes["feature_dim"], sizes["units"]
    a, s, v = u, sizes["image_steps"], sizes["vocabulary_size"]
    gates = 4 * u
    attend = u * a + 2 * s * a + s * f  # query, tanh + score, context
    keys = s * f * a / sizes["steps"]  # once per caption
    vocabulary = (u + f) * v  # [h; context] to the logits, both modes
    attention_scan = (e + f) * gates + u * gates + attend + u  # + the gate
    top_down_scan = (
        u * gates  # attention layer, h2[t-1] part of its input
        + u * gates  # attention layer, recurrent
        + attend
        + (f + u) * gates  # language layer, [v_hat; h1] input
        + u * gates  # language layer, recurrent
    )
    mean_part = f * gates / sizes["steps"]  # v_mean, once per caption
    return {
        "attention": (attention_scan, keys + vocabulary),
        "top_down": (top_down_scan, e * gates + mean_part + keys + vocabulary),
    }


def print_macs(sizes):
    macs = step_macs(sizes)
    print("forward multiply-adds per token (millions): in scan + outside")
    for mode, (inside, outside) in macs.items():
        print(
            f"{mode:<20} {inside / 1e6:6.2f} + {outside / 1e6:5.2f} = "
            f"{(inside + outside) / 1e6:6.2f}"
        )
    (a_in, a_out), (t_in, t_out) = macs["attention"], macs["top_down"]
    print(
        f"top_down / attention: in the scan {t_in / a_in:.2f}x, in all "
        f"{(t_in + t_out) / (a_in + a_out):.2f}x (the floor at equal speed)"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument(
        "--train", action="store_true", help="time a training step"
    )
    parser.add_argument(
        "--modes", nargs="+", default=None, help="modes to time (default all)"
    )
    args = parser.parse_args(argv)
    sizes = {
        "batch": 32,
        "steps": 20,
        "image_steps": 49,
        "feature_dim": 256,
        "embedding_dim": 256,
        "units": 512,
        "vocabulary_size": 5000,
    }
    if args.quick:
        sizes.update(batch=4, feature_dim=16, embedding_dim=16, units=16)
        sizes["vocabulary_size"] = 50
        args.repeats = 2
    print(f"backend: {keras.backend.backend()}, keras {keras.__version__}")
    print("sizes:", ", ".join(f"{k}={v}" for k, v in sizes.items()))
    print("load average (1, 5, 15 min):", os.getloadavg())
    modes = args.modes or conditioning.names()
    if args.train:
        if {"attention", "top_down"} <= set(modes):
            print_macs(sizes)
        results = time_training(modes, sizes, args.repeats)
        wall0, cpu0 = results[modes[0]]
        print(
            f"training step, median of {args.repeats} (modes in turns); "
            f"ratios to {modes[0]}:"
        )
        print(
            f"{'mode':<20} {'wall ms':>8} {'ratio':>6} {'CPU ms':>8} "
            f"{'ratio':>6}"
        )
        for mode, (wall, cpu) in results.items():
            print(
                f"{mode:<20} {1000 * wall:>8.1f} {wall / wall0:>6.2f} "
                f"{1000 * cpu:>8.1f} {cpu / cpu0:>6.2f}"
            )
        if "top_down" in results and "attention" in results:
            ratio = results["top_down"][0] / results["attention"][0]
            cpu_ratio = results["top_down"][1] / results["attention"][1]
            verdict = "met" if ratio <= 1.15 else "NOT met"
            print(
                f"target top_down <= 1.15x attention: {verdict} "
                f"(wall {ratio:.2f}x, CPU {cpu_ratio:.2f}x)"
            )
        print("load average (1, 5, 15 min) at end:", os.getloadavg())
        return
    print(f"{'mode':<12} {'first call s':>12} {'median ms':>10} {'ratio':>6}")
    baseline = None
    for mode in modes:
        first, median = time_mode(mode, sizes, args.repeats)
        baseline = baseline or median
        print(
            f"{mode:<12} {first:>12.2f} {1000 * median:>10.1f} "
            f"{median / baseline:>6.2f}"
        )


if __name__ == "__main__":
    main()
