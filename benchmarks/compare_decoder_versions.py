"""Teacher-forced forward time per conditioning mode, two versions of the code.

Checks out two git revisions into temporary folders and starts one worker
process per revision. Each worker imports its own copy of the package,
builds a compiled decoder (`predict_on_batch`) per conditioning mode at the
size of `bench_conditioning_modes.py`, and waits for orders. The lead process
then asks the two workers in turn, round by round and mode by mode (the order
of the two alternates), for the median of `--repeats` calls, so a load spike
from another process on a shared machine falls on both versions alike.

Printed per mode: the median over rounds of each version's median (wall and
CPU time of the worker), the after / before ratio, and the noise band: the
spread of the per-round ratios (min to max).

    KERAS_BACKEND=tensorflow python benchmarks/compare_decoder_versions.py \
        --before fbcc66a --after HEAD
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

MODES = ("init_inject", "pre_inject", "par_inject", "merge", "attention")

SIZES = {
    "batch": 32,
    "steps": 20,
    "image_steps": 49,
    "feature_dim": 256,
    "embedding_dim": 256,
    "units": 512,
    "vocabulary_size": 5000,
}

WORKER = r"""
import inspect, json, os, statistics, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np
from keras_captioning.layers import CaptionDecoder

sizes = json.loads(sys.argv[1])
modes = json.loads(sys.argv[2])
rng = np.random.default_rng(0)
batch = [
    rng.integers(1, sizes["vocabulary_size"], (sizes["batch"], sizes["steps"]))
    .astype("int32"),
    rng.random((sizes["batch"], sizes["image_steps"], sizes["feature_dim"]),
               dtype="float32"),
]
# Both versions mask padding only, so they do the same work.
options = (
    {"end_token_id": None}
    if "end_token_id" in inspect.signature(CaptionDecoder).parameters
    else {}
)
models = {}
for mode in modes:
    token_ids = keras.Input(shape=(sizes["steps"],), dtype="int32")
    features = keras.Input(shape=(sizes["image_steps"], sizes["feature_dim"]))
    decoder = CaptionDecoder(
        sizes["vocabulary_size"], embedding_dim=sizes["embedding_dim"],
        units=sizes["units"], conditioning=mode, **options,
    )
    model = keras.Model([token_ids, features], decoder(token_ids, features))
    model.predict_on_batch(batch)
    model.predict_on_batch(batch)
    models[mode] = model
print("ready", flush=True)
for line in sys.stdin:
    mode, repeats = line.split()
    walls, cpus = [], []
    for _ in range(int(repeats)):
        wall, cpu = time.perf_counter(), time.process_time()
        models[mode].predict_on_batch(batch)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    print(json.dumps([statistics.median(walls), statistics.median(cpus)]),
          flush=True)
"""


def checkout(revision, folder):
    subprocess.run(
        ["git", "worktree", "add", "--detach", "-q", folder, revision],
        check=True,
    )


def start_worker(tree, modes):
    environment = dict(os.environ, PYTHONPATH=tree)
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(SIZES), json.dumps(modes)],
        cwd=tree,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in process.stdout:
        if line.strip() == "ready":
            return process
    raise RuntimeError(f"The worker for {tree} stopped before it was ready.")


def ask(process, mode, repeats):
    process.stdin.write(f"{mode} {repeats}\n")
    process.stdin.flush()
    return json.loads(process.stdout.readline())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision")
    parser.add_argument("--after", default="HEAD", help="git revision")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--modes", nargs="*", default=list(MODES))
    args = parser.parse_args(argv)

    root = tempfile.mkdtemp(prefix="decoder_versions_")
    trees = {
        "before": os.path.join(root, "before"),
        "after": os.path.join(root, "after"),
    }
    workers = {}
    try:
        checkout(args.before, trees["before"])
        checkout(args.after, trees["after"])
        for name, tree in trees.items():
            workers[name] = start_worker(tree, args.modes)
        results = {mode: {"before": [], "after": []} for mode in args.modes}
        for round_index in range(args.rounds):
            order = (
                ("before", "after")
                if round_index % 2
                else (
                    "after",
                    "before",
                )
            )
            for mode in args.modes:
                for name in order:
                    results[mode][name].append(
                        ask(workers[name], mode, args.repeats)
                    )
        print(
            f"load average at the end: {os.getloadavg()[0]:.1f}; "
            f"{args.rounds} rounds x {args.repeats} calls; "
            f"before={args.before} after={args.after}"
        )
        print(
            f"{'mode':<12} {'before ms':>10} {'after ms':>9} {'ratio':>6} "
            f"{'band':>11} {'cpu ratio':>9}"
        )
        for mode, runs in results.items():
            walls = {name: [r[0] for r in runs[name]] for name in runs}
            cpus = {name: [r[1] for r in runs[name]] for name in runs}
            ratios = [a / b for a, b in zip(walls["after"], walls["before"])]
            before = statistics.median(walls["before"])
            after = statistics.median(walls["after"])
            cpu_ratio = statistics.median(cpus["after"]) / statistics.median(
                cpus["before"]
            )
            print(
                f"{mode:<12} {1000 * before:>10.1f} {1000 * after:>9.1f} "
                f"{after / before:>6.3f} "
                f"{min(ratios):>5.2f}-{max(ratios):<5.2f} {cpu_ratio:>9.3f}"
            )
    finally:
        for process in workers.values():
            process.stdin.close()
            process.wait(timeout=60)
        for tree in trees.values():
            subprocess.run(
                ["git", "worktree", "remove", "--force", tree],
                check=False,
                capture_output=True,
            )
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
