"""Does `torch.compile` pay for caption generation on PyTorch?

The model, sizes and naive loop of `bench_generation.py` (vocabulary 1000,
embedding 256, LSTM 512, `init_inject`, batch 32, 20 words, precomputed
8x8x128 features), on the PyTorch backend, all on the same weights:

- `greedy, eager`: `generate(strategy="greedy")` as the library runs it on
  PyTorch (no autograd; Keras's `while_loop` is a Python loop there);
- `greedy, torch.compile`: the same generation function wrapped in
  `torch.compile` (`mode` from `--mode`); its first call, timed on its own,
  is the compile time, and the time to pay it back is printed;
- `naive loop` and `forward (floor)`: as in `bench_generation.py`.

Prints best and median wall-clock and median CPU time per call over
interleaved rounds, and the ratios the issue's targets name: greedy >= 20x
the naive loop, greedy <= 0.6x one forward pass.

    KERAS_BACKEND=torch python benchmarks/bench_torch_generation.py

`--quick` runs tiny sizes (a smoke test, not a measurement).
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import _timing  # noqa: E402
import bench_generation  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument(
        "--mode",
        default="default",
        help="torch.compile mode (default, reduce-overhead, max-autotune)",
    )
    args = parser.parse_args()
    if keras.backend.backend() != "torch":
        raise SystemExit("Run with KERAS_BACKEND=torch.")
    import torch

    sizes = bench_generation.QUICK if args.quick else bench_generation.FULL
    rounds = args.rounds or sizes["rounds"]
    keras.utils.set_random_seed(0)
    print(_timing.describe_machine())
    print("load average (1, 5, 15 min) at start:", os.getloadavg())
    captioner, inputs = bench_generation.build_captioner(sizes, "none")
    sampler = keras_captioning_sampler()
    eager = captioner.make_generate_function(sampler)
    images = keras.ops.convert_to_tensor(inputs)

    def plain(images):
        with torch.no_grad():
            return captioner.generate_step(images, sampler)

    compiled = torch.compile(plain, mode=args.mode)
    start = time.perf_counter()
    compiled_ids = compiled(images)["token_ids"]
    compile_seconds = time.perf_counter() - start
    eager_ids = eager(images)["token_ids"]
    agree = np.array_equal(
        keras.ops.convert_to_numpy(compiled_ids),
        keras.ops.convert_to_numpy(eager_ids),
    )
    forward = bench_generation.compiled_forward(captioner)
    steps = sizes["words"] + 1
    token_ids = np.ones((len(inputs), steps), "int32")
    forward(inputs, token_ids)
    contenders = {
        "greedy, eager": lambda: eager(images),
        "greedy, torch.compile": lambda: compiled(images),
        "forward (floor)": lambda: forward(inputs, token_ids),
    }
    times = _timing.interleaved(contenders, rounds)
    naive = _timing.interleaved(
        {
            "naive loop": lambda: bench_generation.naive_loop(
                captioner, inputs, steps
            )
        },
        max(1, rounds // 3),
    )
    times.update(naive)
    rows = []
    best = {name: min(walls) for name, (walls, _) in times.items()}
    cpu = {name: float(np.median(cpus)) for name, (_, cpus) in times.items()}
    for name, (walls, cpus) in times.items():
        rows.append(
            [
                name,
                f"{1000 * min(walls):.1f}",
                f"{1000 * float(np.median(walls)):.1f}",
                f"{1000 * float(np.median(cpus)):.1f}",
            ]
        )
    print(
        f"batch {sizes['batch_size']}, {sizes['words']} words, "
        f"torch.compile(mode={args.mode!r}) first call "
        f"{compile_seconds:.1f} s; captions agree with eager: {agree}"
    )
    _timing.print_table(["method", "best ms", "median ms", "CPU ms"], rows)
    for name in ("greedy, eager", "greedy, torch.compile"):
        speedup = best["naive loop"] / best[name]
        floor = best[name] / best["forward (floor)"]
        print(
            f"{name}: {speedup:.1f}x the naive loop (target >= 20: "
            f"{_timing.verdict(speedup, 20.0, at_most=False)}), "
            f"{floor:.2f}x one forward pass (target <= 0.6: "
            f"{_timing.verdict(floor, 0.6, at_most=True)}); CPU "
            f"{cpu['naive loop'] / cpu[name]:.1f}x and "
            f"{cpu[name] / cpu['forward (floor)']:.2f}x"
        )
    saved = best["greedy, eager"] - best["greedy, torch.compile"]
    if saved > 0:
        print(
            f"torch.compile saves {1000 * saved:.1f} ms a call: it pays "
            f"back its {compile_seconds:.1f} s after "
            f"{compile_seconds / saved:.0f} calls"
        )
    else:
        print("torch.compile saves nothing per call on this machine")
    print("load average (1, 5, 15 min) at end:", os.getloadavg())


def keras_captioning_sampler():
    import keras_captioning

    return keras_captioning.generation.GreedySampler()


if __name__ == "__main__":
    main()
