"""Measures the file input pipeline on a Flickr8k-sized corpus of JPEGs.

The script writes a corpus to a temporary folder (removed at the end):
`--num-images` photo-like JPEGs (default 8,000, Flickr8k's size), smooth
shading, soft texture and sharp-edged shapes at typical photo sizes (500
pixels on the long side, 281 to 500 on the short one, a quarter of them
portrait) with sensor grain, saved at quality 95: about 100 KiB a file,
near Flickr8k's average (about 130 KB; 1 GB for 8,091 files); five
captions each over a vocabulary of about 3,000 words with Zipf-like word
frequencies. Everything is seeded (`--seed`).

Then, in one run, with `--workers` threads (default: the CPU
count) and `--image-size` (default 224) square images:

- ceiling: a bare loop that opens each file with Pillow, converts it to
  RGB and resizes it bilinearly, `--workers` files at a time: the most a
  pipeline that decodes every JPEG at full size can do on this machine;
- draft ceiling: the same loop, asking libjpeg for the DCT-scaled decode
  first (`Image.draft`), as `read_image` does: the most any pipeline built
  on Pillow can do;
- `make_dataset(paths, ...)`: one epoch of its `tf.data` pipeline
  (`reference_mode="random"`, one row per image), its private thread pool
  set to `--workers`;
- `CaptionPyDataset(paths, ...)` at its defaults (`workers=2` batches
  in flight, each batch's files read by a pool of one thread per CPU):
  one epoch through the iterator `fit` uses (Keras's `PyDatasetAdapter`,
  private API);
- the three take turns, `--rounds` epochs each; the best epoch counts;
- for both pipelines, the peak resident memory (`VmHWM`, reset at the
  start of the epoch via `/proc/self/clear_refs`) after the first 10% of
  the epoch's batches and after the whole epoch: an epoch must not hold
  more memory as it goes (target: the full-epoch peak within 10% of the
  first-10% peak);
- `cache_features` with `mobilenet_v3_small` (random weights: speed does
  not depend on them) on the first `--cache-images` files;
- training images per second of an `ImageCaptioner` with
  `mobilenet_v3_small` at `--image-size`, attention LSTM of 512 units:
  fine-tuned end to end on uint8 images, and frozen (the decoder alone,
  `encoder=None`) on the cached features: `fit` over `--train-steps`
  batches of `--batch-size`, after a warm-up batch, best of `--rounds`.

Every figure comes with the CPU time it took per image (the process's,
all threads): on a machine shared with other work, wall-clock rates move
with the load, CPU time much less, so the ratio of CPU times to the
ceiling's is printed next to the ratio of rates.

From these it projects the time of one training epoch over Flickr8k's
Karpathy train split (6,000 images x 5 captions) and COCO's (113,287 x 5)
on this machine, and on paper for a GPU training at
`--gpu-images-per-second` (an assumption, printed with the figures).
Targets: each pipeline >= 1.5x the full-decode ceiling and >= 90% of the
draft ceiling; memory flat. The mean and largest absolute pixel difference
between the library's pixels and a full decode of the same files are
printed with them.

`--with-full-decode` also times both pipelines with
`set_full_size_decode(True)` (the reader as it was before the DCT-scale
decode), in the same run. `--photo-size 640x480` writes every photo at
that size (COCO's typical photo) instead of Flickr8k's mix;
`--pipelines-only` skips caching and training.

Run from the repository root (the figures in docs/data.rst come from this
command; the load average is printed with them):

    KERAS_BACKEND=tensorflow python benchmarks/bench_input_pipeline.py

`--num-images 500` gives a quick run on a busy machine. Linux only (the
memory figures read `/proc`).
"""

import argparse
import concurrent.futures
import os
import pathlib
import shutil
import sys
import tempfile
import time

import _timing
import keras
import numpy as np
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFilter

# Measure the checkout these scripts belong to, whichever copy of the
# package is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import keras_captioning  # noqa: E402

FLICKR8K_TRAIN_IMAGES = 6_000
COCO_TRAIN_IMAGES = 113_287
CAPTIONS_PER_IMAGE = 5


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--num-images", type=int, default=8_000)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--cache-images",
        type=int,
        default=1_000,
        help="Files run through cache_features (at most --num-images).",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="Epochs each reading path runs, in turns, and timed fit calls "
        "of each training mode; the best counts.",
    )
    parser.add_argument("--train-steps", type=int, default=3)
    parser.add_argument(
        "--gpu-images-per-second",
        type=float,
        default=1_500.0,
        help="Assumed fine-tuning speed of one GPU, for the paper projection.",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--photo-size",
        default=None,
        help="WIDTHxHEIGHT of every photo (e.g. 640x480); default: "
        "Flickr8k's mix of sizes up to 500 pixels.",
    )
    parser.add_argument(
        "--with-full-decode",
        action="store_true",
        help="Also time both pipelines under set_full_size_decode(True): "
        "the reader before DCT-scale decoding, in the same run.",
    )
    parser.add_argument(
        "--pipelines-only",
        action="store_true",
        help="Measure the reading paths only (no caching, no training).",
    )
    parser.add_argument(
        "--directory",
        default=None,
        help="Parent of the temporary corpus folder (default: the system's).",
    )
    return parser.parse_args()


# ---------------------------------------------------------------- corpus


def make_words(count, rng):
    syllables = [c + v for c in "bcdfghklmnprstvwz" for v in "aeiou"]
    words = set()
    while len(words) < count:
        size = rng.integers(1, 4)
        words.add("".join(rng.choice(syllables, size)))
    return sorted(words)


def make_captions(words, num_images, rng):
    # Zipf-like frequencies, as in real captions ("a", "dog", ...).
    weights = 1.0 / np.arange(1, len(words) + 1)
    weights /= weights.sum()
    captions = []
    for _ in range(num_images):
        lengths = rng.integers(6, 16, CAPTIONS_PER_IMAGE)
        captions.append(
            [" ".join(rng.choice(words, size, p=weights)) for size in lengths]
        )
    return captions


def photo_size(rng):
    short = int(rng.integers(281, 501))
    return (short, 500) if rng.random() < 0.25 else (500, short)


def photo(rng, width, height):
    """A photo-like picture: shading, soft texture and sharp shapes."""
    # Smooth colour shading: a 3x3 grid of colours, upsampled.
    grid = rng.integers(30, 226, (3, 3, 3), dtype="uint8")
    base = Image.fromarray(grid).resize((width, height), Image.BICUBIC)
    pixels = np.asarray(base, "float32")
    # Texture at a few scales (foliage, fabric, grain), not per-pixel noise.
    for cells, amplitude in ((24, 18.0), (90, 10.0), (250, 5.0)):
        small = rng.normal(0, amplitude, (cells * height // width + 1, cells))
        layer = Image.fromarray(small.astype("float32"), "F").resize(
            (width, height), Image.BILINEAR
        )
        pixels += np.asarray(layer)[..., None]
    image = Image.fromarray(np.clip(pixels, 0, 255).astype("uint8"))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        x1 = x0 + int(rng.integers(20, width // 2))
        y1 = y0 + int(rng.integers(20, height // 2))
        colour = tuple(int(value) for value in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    # Lenses blur a little (shape edges stay sharp but not aliased), then
    # the sensor adds its grain.
    pixels = np.asarray(image.filter(ImageFilter.GaussianBlur(0.6)), "int16")
    grain = rng.normal(0, 9, (height, width, 1)).astype("int16")
    return Image.fromarray(np.clip(pixels + grain, 0, 255).astype("uint8"))


def write_corpus(directory, num_images, seed, fixed_size=None):
    rng = np.random.default_rng(seed)
    words = make_words(3_000, rng)
    captions = make_captions(words, num_images, rng)
    seeds = rng.integers(0, 2**32, num_images)

    def write(index):
        image_rng = np.random.default_rng(seeds[index])
        width, height = fixed_size or photo_size(image_rng)
        path = os.path.join(directory, f"{index:06d}.jpg")
        photo(image_rng, width, height).save(path, quality=95)
        return path

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        paths = list(pool.map(write, range(num_images)))
    return paths, captions


# ---------------------------------------------------------------- memory


def reset_peak_memory():
    with open("/proc/self/clear_refs", "w") as file:
        file.write("5")


def peak_memory_mib():
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------- pipelines


def bare_epoch(paths, references, tokenizer, args):
    """The ceiling: Pillow decode, RGB and resize, `--workers` at a time."""
    size = (args.image_size, args.image_size)

    def read(path):
        with Image.open(path) as image:
            image = image.convert("RGB").resize(size, Image.BILINEAR)
        return np.asarray(image)

    with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
        return epoch_with_memory(pool.map(read, paths), len(paths))


def bare_draft_epoch(paths, references, tokenizer, args):
    """The draft ceiling: the same loop, decoding at the DCT scale."""
    size = (args.image_size, args.image_size)

    def read(path):
        with Image.open(path) as image:
            image.draft("RGB", size)
            image = image.convert("RGB").resize(size, Image.BILINEAR)
        return np.asarray(image)

    with concurrent.futures.ThreadPoolExecutor(args.workers) as pool:
        return epoch_with_memory(pool.map(read, paths), len(paths))


def full_decode(epoch):
    """`epoch` run under `set_full_size_decode(True)`."""

    def run(*args):
        keras_captioning.data.set_full_size_decode(True)
        try:
            return epoch(*args)
        finally:
            keras_captioning.data.set_full_size_decode(False)

    return run


def pixel_difference(paths, image_size):
    """Mean and largest absolute difference, in levels of 255, between the
    library's pixels and a full decode's (the same resize)."""
    total, largest, count = 0.0, 0, 0
    for path in paths:
        scaled = keras_captioning.data.read_image(path, image_size)
        full = keras_captioning.data.read_image(
            path, image_size, full_size_decode=True
        )
        difference = np.abs(scaled.astype("int16") - full)
        total += float(difference.sum())
        largest = max(largest, int(difference.max()))
        count += difference.size
    return total / count, largest


def epoch_with_memory(batches, num_batches):
    """Consumes one epoch: wall and CPU seconds, peak MiB at 10% and 100%.

    CPU seconds are the whole process's, every thread included; on a
    machine shared with other work they grow far less than wall time.
    """
    tenth = max(1, num_batches // 10)
    reset_peak_memory()
    wall, cpu = time.perf_counter(), time.process_time()
    early = None
    for index, _ in enumerate(batches, start=1):
        if index == tenth:
            early = peak_memory_mib()
    return {
        "wall": time.perf_counter() - wall,
        "cpu": time.process_time() - cpu,
        "early": early,
        "full": peak_memory_mib(),
    }


def tf_data_epoch(paths, references, tokenizer, args):
    import tensorflow as tf

    dataset = keras_captioning.data.make_dataset(
        paths,
        references,
        tokenizer,
        batch_size=args.batch_size,
        image_size=(args.image_size, args.image_size),
        reference_mode="random",
        seed=args.seed,
    )
    options = tf.data.Options()
    options.threading.private_threadpool_size = args.workers
    dataset = dataset.with_options(options)
    num_batches = -(-len(paths) // args.batch_size)
    return epoch_with_memory(dataset.as_numpy_iterator(), num_batches)


def py_dataset_epoch(paths, references, tokenizer, args):
    from keras.src.trainers.data_adapters.py_dataset_adapter import (
        PyDatasetAdapter,
    )

    # Its defaults: two batches in flight, each batch's files read by one
    # thread per CPU.
    dataset = keras_captioning.data.CaptionPyDataset(
        paths,
        references,
        tokenizer,
        batch_size=args.batch_size,
        image_size=(args.image_size, args.image_size),
        reference_mode="random",
        seed=args.seed,
    )
    adapter = PyDatasetAdapter(dataset, shuffle=False)
    adapter.on_epoch_begin()
    result = epoch_with_memory(adapter.get_numpy_iterator(), len(dataset))
    adapter.on_epoch_end()
    return result


# ---------------------------------------------------------------- training


def make_captioner(vocabulary, encoder, image_size):
    options = dict(
        feature_to_sequence={"units": 512, "activation": "relu"},
        decoder={"conditioning": "attention", "units": 512},
        max_length=20,
    )
    if encoder is not None:
        options["image_size"] = (image_size, image_size)
    captioner = keras_captioning.models.ImageCaptioner(
        vocabulary, encoder=encoder, **options
    )
    captioner.compile()
    return captioner


def fit_rate(captioner, inputs, token_ids, batch_size, steps, rounds):
    """`(images/s, CPU ms per image)` of `fit`, best of `rounds`.

    One `fit` of one batch first compiles the train step.
    """
    captioner.fit(
        inputs[:batch_size],
        token_ids[:batch_size],
        batch_size=batch_size,
        shuffle=False,
        verbose=0,
    )
    count = batch_size * steps
    times = _timing.interleaved(
        {
            "fit": lambda: captioner.fit(
                inputs[:count],
                token_ids[:count],
                batch_size=batch_size,
                shuffle=False,
                verbose=0,
            )
        },
        rounds,
    )["fit"]
    return count / min(times[0]), 1000 * min(times[1]) / count


def first_batches(paths, references, tokenizer, args, count):
    dataset = keras_captioning.data.CaptionPyDataset(
        paths[:count],
        [captions[:1] for captions in references[:count]],
        tokenizer,
        batch_size=count,
        image_size=(args.image_size, args.image_size),
        shuffle=False,
    )
    return dataset[0]


# ---------------------------------------------------------------- report


def duration(seconds):
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def main():
    args = parse_args()
    keras.utils.set_random_seed(args.seed)
    print(_timing.describe_machine())
    print(
        f"load average (1, 5, 15 min) at start: "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    directory = tempfile.mkdtemp(prefix="kc-pipeline-", dir=args.directory)
    try:
        run(args, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run(args, directory):
    start = time.perf_counter()
    fixed_size = None
    if args.photo_size:
        fixed_size = tuple(int(v) for v in args.photo_size.lower().split("x"))
    paths, references = write_corpus(
        directory, args.num_images, args.seed, fixed_size
    )
    sizes = [os.path.getsize(path) for path in paths]
    vocabulary = keras_captioning.text.build_vocabulary(
        [caption for captions in references for caption in captions]
    )
    tokenizer = keras_captioning.text.CaptionTokenizer(
        vocabulary, max_length=20
    )
    print(
        f"corpus: {len(paths)} JPEGs, {np.mean(sizes) / 1024:.0f} KiB on "
        f"average ({sum(sizes) / 2**20:.0f} MiB), "
        f"{CAPTIONS_PER_IMAGE} captions each, {len(vocabulary)} words; "
        f"written in {time.perf_counter() - start:.0f} s to {directory}"
    )
    size = args.image_size

    # Every file into the page cache first, so no contender pays for a
    # cold disk; then the contenders take turns, `--rounds` epochs each.
    for path in paths:
        with open(path, "rb") as file:
            file.read()
    contenders = {
        "bare decode + resize (ceiling)": bare_epoch,
        "bare draft decode + resize": bare_draft_epoch,
        "make_dataset (tf.data)": tf_data_epoch,
        "CaptionPyDataset": py_dataset_epoch,
    }
    if args.with_full_decode:
        contenders["make_dataset, full decode"] = full_decode(tf_data_epoch)
        contenders["CaptionPyDataset, full decode"] = full_decode(
            py_dataset_epoch
        )
    results = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, epoch in contenders.items():
            results[name].append(epoch(paths, references, tokenizer, args))
    rates, cpu_costs = {}, {}
    for name, runs in results.items():
        rates[name] = len(paths) / min(run["wall"] for run in runs)
        cpu_costs[name] = 1000 * min(run["cpu"] for run in runs) / len(paths)
    ceiling_name = "bare decode + resize (ceiling)"
    draft_name = "bare draft decode + resize"
    ceiling, ceiling_cpu = rates[ceiling_name], cpu_costs[ceiling_name]
    draft_ceiling = rates[draft_name]
    rows = []
    memory_flat = True
    for name, runs in results.items():
        growth = max(run["full"] / run["early"] - 1 for run in runs)
        if name not in (ceiling_name, draft_name):
            memory_flat &= growth <= 0.10
        rows.append(
            [
                name,
                f"{rates[name]:.0f}",
                f"{rates[name] / ceiling:.2f}x",
                f"{rates[name] / draft_ceiling:.0%}",
                f"{cpu_costs[name]:.2f}",
                f"{ceiling_cpu / cpu_costs[name]:.0%}",
                f"{max(run['early'] for run in runs):.0f}",
                f"{max(run['full'] for run in runs):.0f}",
                f"{growth:+.1%}",
            ]
        )
    print()
    print(
        f"Reading {size}x{size} images, {args.workers} workers, batches of "
        f"{args.batch_size}, one epoch of {len(paths)} images, best of "
        f"{args.rounds} (peak resident memory: the highest over the rounds):"
    )
    _timing.print_table(
        [
            "path",
            "images/s",
            "of ceiling",
            "of draft ceiling",
            "CPU ms/image",
            "ceiling/CPU",
            "peak MiB, first 10%",
            "full epoch",
            "growth",
        ],
        rows,
    )
    del rates[ceiling_name], rates[draft_name]
    for name in list(rates):
        if name.endswith(", full decode"):
            del rates[name]
    worst = min(rates.values()) / ceiling
    worst_draft = min(rates.values()) / draft_ceiling
    worst_cpu = min(ceiling_cpu / cpu_costs[name] for name in rates)
    mean_difference, max_difference = pixel_difference(paths, (size, size))
    print(
        f"target: each path >= 1.5x the full-decode ceiling: "
        f"{_timing.verdict(worst, 1.5, at_most=False)} (worst {worst:.2f}x; "
        f"by CPU time per image {worst_cpu:.2f}x); >= 90% of the draft "
        f"ceiling: {_timing.verdict(worst_draft, 0.9, at_most=False)} "
        f"(worst {worst_draft:.0%}); memory within 10%: "
        f"{'met' if memory_flat else 'NOT met'}"
    )
    print(
        f"pixels against a full decode of the same {len(paths)} files "
        f"(same resize): mean absolute difference {mean_difference:.2f} "
        f"of 255, largest {max_difference}"
    )
    if args.pipelines_only:
        print(
            "load average (1, 5, 15 min) at end: "
            f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        return

    # Feature caching and training.
    captioner = make_captioner(vocabulary, "mobilenet_v3_small", size)
    captioner.build(
        {"images": (None, size, size, 3), "token_ids": (None, None)}
    )
    extractor = keras.Sequential(
        [captioner.preprocessing, captioner.encoder], name="feature_extractor"
    )
    cache_paths = paths[: min(args.cache_images, len(paths))]
    cache_features = keras_captioning.data.cache_features
    # Warm-up: compiles predict.
    cache_features(
        extractor,
        cache_paths[: args.batch_size],
        os.path.join(directory, "warm-up-cache"),
        batch_size=args.batch_size,
        image_size=(size, size),
        verbose=0,
    )
    start, cpu = time.perf_counter(), time.process_time()
    features = cache_features(
        extractor,
        cache_paths,
        os.path.join(directory, "cache"),
        batch_size=args.batch_size,
        image_size=(size, size),
        verbose=0,
    )
    caching = len(cache_paths) / (time.perf_counter() - start)
    caching_cpu = 1000 * (time.process_time() - cpu) / len(cache_paths)

    count = args.batch_size * args.train_steps
    images, token_ids = first_batches(paths, references, tokenizer, args, count)
    fine_tuned, fine_tuned_cpu = fit_rate(
        captioner,
        images,
        token_ids,
        args.batch_size,
        args.train_steps,
        args.rounds,
    )
    head = make_captioner(vocabulary, None, size)
    head_features = np.asarray(features[:count])
    frozen, frozen_cpu = fit_rate(
        head,
        head_features,
        token_ids,
        args.batch_size,
        args.train_steps,
        args.rounds,
    )
    print()
    print(
        f"mobilenet_v3_small at {size}x{size}, attention LSTM 512, batches "
        f"of {args.batch_size}:"
    )
    _timing.print_table(
        ["step", "images/s", "CPU ms/image"],
        [
            [
                f"cache_features ({len(cache_paths)} files, features "
                f"{tuple(features.shape[1:])})",
                f"{caching:.0f}",
                f"{caching_cpu:.1f}",
            ],
            [
                "fit, fine-tuned end to end (uint8 images)",
                f"{fine_tuned:.1f}",
                f"{fine_tuned_cpu:.1f}",
            ],
            [
                "fit, frozen (decoder on cached features)",
                f"{frozen:.1f}",
                f"{frozen_cpu:.1f}",
            ],
        ],
    )

    pipeline = min(rates.values())
    # One core reads 1000 / (CPU ms per image) images per second, whatever
    # else runs on the machine.
    per_core = 1000 / max(cpu_costs[name] for name in rates)
    print()
    print(
        "Projected time of one epoch (every image x 5 captions); on this "
        "machine decoding and training share the same cores, so their "
        "times add:"
    )
    table = []
    for name, num_images in (
        ("Flickr8k", FLICKR8K_TRAIN_IMAGES),
        ("COCO", COCO_TRAIN_IMAGES),
    ):
        rows_per_epoch = num_images * CAPTIONS_PER_IMAGE
        gpu = args.gpu_images_per_second
        table.append(
            [
                name,
                f"{rows_per_epoch:,}",
                duration(rows_per_epoch * (1 / fine_tuned + 1 / pipeline)),
                duration(rows_per_epoch / frozen),
                duration(num_images / caching),
                duration(rows_per_epoch / gpu),
                f"{gpu / per_core:.1f}",
            ]
        )
    _timing.print_table(
        [
            "dataset",
            "rows/epoch",
            "fine-tuned",
            "frozen",
            "+ caching once",
            "GPU fine-tuned",
            "cores to feed GPU",
        ],
        table,
    )
    print(
        f"GPU column: on paper, assuming one GPU fine-tunes this model at "
        f"{args.gpu_images_per_second:.0f} images/s (--gpu-images-per-second)"
        f"; the input pipeline keeps up only with the number of cores in the "
        f"last column ({per_core:.0f} images/s per core, from the CPU time "
        "per image of the slower pipeline). "
        "Frozen training reads no image files at all."
    )
    print(
        "load average (1, 5, 15 min) at end: "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
