"""How long one epoch of `keras-captioning train --encoder simple_cnn` takes.

Writes 240 photo-sized (640x480) JPEGs with five captions each into a
temporary folder, as a user's own 240 photos would be, then runs the real
command in a fresh process, once per image size asked for:

    python benchmarks/bench_cli_train.py                 # the default size
    python benchmarks/bench_cli_train.py --image-sizes 96 112 224

and prints, per size, the first epoch's seconds and the time per training
step as Keras reports them (`--verbose 2`), with the ratio to the first
size. The first epoch includes compiling the training step; the target is
under a minute on two CPU cores with the defaults. Nothing is downloaded.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

WORDS = (
    "a dog cat man woman child runs sits on the grass in park red blue "
    "ball water beach street with two"
).split()


def write_photos(folder, count, validation, test, seed=0):
    rng = np.random.default_rng(seed)
    image_dir = os.path.join(folder, "images")
    os.makedirs(image_dir)
    rows, columns = np.mgrid[0:480, 0:640]
    records = []
    splits = ["train"] * count + ["val"] * validation + ["test"] * test
    for index, split in enumerate(splits):
        colour = rng.integers(0, 256, 3)
        gradient = rows * rng.uniform(0.1, 0.5) + columns * rng.uniform(
            0.1, 0.5
        )
        image = (gradient[..., None] + colour) % 256
        image = image + rng.normal(0, 12, image.shape)
        name = f"{index:04d}.jpg"
        Image.fromarray(np.clip(image, 0, 255).astype("uint8")).save(
            os.path.join(image_dir, name), quality=90
        )
        sentences = [
            {"raw": " ".join(rng.choice(WORDS, rng.integers(5, 12)))}
            for _ in range(5)
        ]
        records.append(
            {"filename": name, "split": split, "sentences": sentences}
        )
    split_file = os.path.join(folder, "dataset.json")
    with open(split_file, "w") as file:
        json.dump({"images": records, "dataset": "own"}, file)
    return split_file, image_dir


def run(split_file, image_dir, output_dir, image_size):
    command = [
        sys.executable,
        "-m",
        "keras_captioning.cli",
        "train",
        f"--karpathy-json={split_file}",
        f"--image-dir={image_dir}",
        f"--output-dir={output_dir}",
        "--encoder=simple_cnn",
        "--epochs=1",
        "--verbose=2",
    ]
    if image_size is not None:
        command.append(f"--image-size={image_size}")
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    total = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"the command failed:\n{result.stderr[-3000:]}")
    # Keras's verbose=2 epoch line: "8/8 - 41s - 5s/step - loss: ...".
    match = re.search(
        r"(\d+)/\1 - (\d+)s - (\d+(?:\.\d+)?)(s|ms)/step", result.stdout
    )
    if match is None:
        sys.exit(f"no epoch line in the output:\n{result.stdout[-3000:]}")
    steps, seconds, step, unit = match.groups()
    step = float(step) / (1000 if unit == "ms" else 1)
    size = re.search(r"Images read at (\d+x\d+)", result.stdout).group(1)
    return {
        "size": size,
        "steps": int(steps),
        "epoch_s": int(seconds),
        "step_s": step,
        "command_s": total,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--image-sizes",
        type=int,
        nargs="+",
        default=[None],
        help="Sizes to compare (default: the command's default only).",
    )
    parser.add_argument("--photos", type=int, default=240)
    args = parser.parse_args(argv)
    print(f"load: {os.getloadavg()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as folder:
        split_file, image_dir = write_photos(folder, args.photos, 8, 8)
        results = []
        for size in args.image_sizes:
            output = os.path.join(folder, f"out-{size}")
            results.append(run(split_file, image_dir, output, size))
            first = results[0]
            r = results[-1]
            print(
                f"{r['size']}: epoch of {args.photos} photos "
                f"({r['steps']} steps) {r['epoch_s']} s, "
                f"{r['step_s']:.2f} s/step; whole command {r['command_s']:.0f} "
                f"s; epoch time x{r['epoch_s'] / max(first['epoch_s'], 1):.2f} "
                "of the first size",
                flush=True,
            )
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
