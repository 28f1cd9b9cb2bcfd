"""Training images/s from a Hugging Face dataset vs the same images as files.

Writes `--num-images` photo-like JPEGs (default 1,000; 320x240 and 240x320,
smooth shading with grain, quality 90) with five captions each to a
temporary folder (removed at the end), and builds from the same files a
`datasets.Dataset` whose image column holds the encoded bytes (as a
dataset from the Hub or `save_to_disk` holds them: nothing is read from
the files). Then, in one run, an `ImageCaptioner` (`simple_cnn` encoder at
`--image-size`, attention LSTM of 128 units) trains with `fit`:

- files: `CaptionPyDataset(paths, references, ...)`;
- hugging_face: `HuggingFaceCaptions(dataset, ...)`;

both with `reference_mode="random"` (one row per image), `--batch-size`,
taking turns for `--rounds` epochs each after a warm-up of 3 batches; the best
epoch of each counts. Prints images per second of each and their ratio
(target: hugging_face >= 90% of files), with the load average.

    python benchmarks/bench_hugging_face.py [--num-images 1000]
"""

import argparse
import os
import shutil
import tempfile
import time

import keras
import numpy as np
from PIL import Image

import keras_captioning

WORDS = "a the dog cat man woman child red blue runs sits on in grass".split()


def write_corpus(folder, num_images, seed):
    rng = np.random.default_rng(seed)
    paths, references = [], []
    for index in range(num_images):
        height, width = (240, 320) if index % 4 else (320, 240)
        rows = np.linspace(0, 1, height)[:, None, None]
        columns = np.linspace(0, 1, width)[None, :, None]
        colour = rng.uniform(0, 255, (1, 1, 3))
        pixels = colour * rows + (255 - colour) * columns
        pixels = pixels + rng.normal(0, 8, (height, width, 3))
        path = os.path.join(folder, f"{index:05d}.jpg")
        Image.fromarray(np.clip(pixels, 0, 255).astype("uint8")).save(
            path, quality=90
        )
        paths.append(path)
        references.append([" ".join(rng.choice(WORDS, 6)) for _ in range(5)])
    return paths, references


def hugging_face_dataset(paths, references):
    import datasets

    encoded = []
    for path in paths:
        with open(path, "rb") as file:
            encoded.append({"bytes": file.read(), "path": None})
    return datasets.Dataset.from_dict(
        {"image": encoded, "captions": references}
    ).cast_column("image", datasets.Image())


def epoch_rate(captioner, batches, num_images, name):
    start = time.perf_counter()
    captioner.fit(batches, epochs=1, verbose=0)
    rate = num_images / (time.perf_counter() - start)
    print(f"  {name}: {rate:.1f} images/s", flush=True)
    return rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-images", type=int, default=1000)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="bench_hugging_face_")
    try:
        paths, references = write_corpus(folder, args.num_images, args.seed)
        dataset = hugging_face_dataset(paths, references)
        vocabulary = keras_captioning.text.build_vocabulary(
            references, min_count=1
        )
        keras.utils.set_random_seed(args.seed)
        size = (args.image_size, args.image_size)
        captioner = keras_captioning.models.ImageCaptioner(
            vocabulary,
            encoder="simple_cnn",
            image_size=size,
            decoder={"units": 128, "embedding_dim": 64},
            max_length=8,
        )
        captioner.compile()
        options = dict(
            batch_size=args.batch_size,
            image_size=size,
            reference_mode="random",
            seed=args.seed,
        )
        pipelines = {
            "files": keras_captioning.data.CaptionPyDataset(
                paths, references, captioner.tokenizer, **options
            ),
            "hugging_face": keras_captioning.data.HuggingFaceCaptions(
                dataset, captioner.tokenizer, **options
            ),
        }
        for batches in pipelines.values():  # warm-up: compile, caches
            captioner.fit(batches, epochs=1, steps_per_epoch=3, verbose=0)
        rates = {name: [] for name in pipelines}
        for _ in range(args.rounds):
            for name, batches in pipelines.items():
                rates[name].append(
                    epoch_rate(captioner, batches, args.num_images, name)
                )
        best = {name: max(values) for name, values in rates.items()}
        print(
            f"{args.num_images} images of 320x240 resized to {size}, batch "
            f"{args.batch_size}, backend {keras.backend.backend()}, load "
            f"average {os.getloadavg()[0]:.1f}"
        )
        for name, values in rates.items():
            shown = ", ".join(f"{value:.1f}" for value in values)
            print(f"{name:>13}: best {best[name]:.1f} images/s ({shown})")
        ratio = best["hugging_face"] / best["files"]
        print(
            f"hugging_face / files: {ratio:.1%} (target >= 90%: "
            f"{'met' if ratio >= 0.9 else 'missed'})"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
