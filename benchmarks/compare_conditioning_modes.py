"""Every conditioning mode on the shapes data, same wall-clock budget each.

    KERAS_BACKEND=tensorflow python benchmarks/compare_conditioning_modes.py \
        --budget 75 --seeds 0 1 2

Trains the captioner of `examples/train_shapes.py` (a `SimpleCNN` on 48x48
images, a 3x3 feature map, `FeatureToSequence` with a position embedding,
embedding 64, one recurrent layer of 256 units) once per mode and seed, on
the same generated data (data seed 0), for `--budget` seconds of wall clock
each, counted from the end of the first training step (which traces and
compiles the training function, a cost paid once). The learning rate
follows a cosine from 3e-3 to a twentieth of it over the budget's seconds
(not its steps), so every mode ends its own schedule.
Then it captions the test split greedily and prints, per run and as mean
and standard deviation per mode, BLEU-4 and CIDEr-D and, when
`keras_captioning.datasets.shapes.score_content` exists, object F1 and the
share of captions that are entirely right.

The modes that average the image into one vector get the flattened 3x3
map (as the example does), the attentive modes the nine positions. Runs go
seed by seed, every mode within a seed, so load changes during the run
spread over the modes. The one-minute load average is printed before each
run: the figures are only comparable within one invocation.

Each finished run is appended to `--output` as one JSON line.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

import keras_captioning  # noqa: E402
from keras_captioning.datasets import shapes  # noqa: E402
from keras_captioning.layers import conditioning  # noqa: E402

# Modes that read the image steps one by one; the others get one vector.
SPATIAL_MODES = ("attention", "top_down", "adaptive_attention")
ENCODER_FILTERS = (8, 16, 32, 64)
IMAGE_SIZE = 48


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--budget",
        type=float,
        default=75.0,
        help="Seconds of training (wall clock) per run.",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--modes", nargs="+", default=None, help="Default: every mode."
    )
    parser.add_argument("--num-train", type=int, default=4000)
    parser.add_argument("--num-test", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--output", default="compare_conditioning_modes.jsonl")
    return parser.parse_args(argv)


class WallClockBudget(keras.callbacks.Callback):
    """Stops training after `seconds` and decays the learning rate along a
    cosine over those seconds, to `alpha` times its initial value."""

    def __init__(self, seconds, learning_rate, alpha=0.05):
        super().__init__()
        self.seconds = seconds
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.steps = 0

    def on_train_begin(self, logs=None):
        self.start = None

    def on_train_batch_begin(self, batch, logs=None):
        elapsed = 0.0 if self.start is None else self.elapsed()
        progress = min(1.0, elapsed / self.seconds)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        rate = self.learning_rate * (self.alpha + (1 - self.alpha) * cosine)
        self.model.optimizer.learning_rate.assign(rate)

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.start is None:
            # The clock starts after the first step, which traces and
            # compiles the training function.
            self.start = time.perf_counter()
        elif self.elapsed() >= self.seconds:
            self.model.stop_training = True

    def elapsed(self):
        return time.perf_counter() - self.start


def build_captioner(vocabulary, max_length, mode):
    cnn = keras_captioning.models.SimpleCNN(
        filters=ENCODER_FILTERS, name="encoder"
    )
    encoder = cnn
    if mode not in SPATIAL_MODES:
        encoder = keras.Sequential(
            [cnn, keras.layers.Flatten(name="flatten")], name="encoder"
        )
    return keras_captioning.models.ImageCaptioner(
        vocabulary,
        encoder=encoder,
        feature_to_sequence={
            "units": 256,
            "activation": "relu",
            "position_embedding": True,
        },
        decoder={"conditioning": mode, "embedding_dim": 64, "units": 256},
        max_length=max_length,
    )


def run_one(mode, seed, data, args):
    keras.utils.clear_session()
    keras.utils.set_random_seed(seed)
    train_images, train_references = data["train"]
    captioner = build_captioner(data["vocabulary"], data["max_length"], mode)
    captioner.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=5.0)
    )
    train_data = keras_captioning.data.make_dataset(
        train_images,
        train_references,
        captioner.tokenizer,
        batch_size=args.batch_size,
        reference_mode="all",
        seed=seed,
    )
    budget = WallClockBudget(args.budget, args.learning_rate)
    # More epochs than the budget allows; the callback stops training.
    captioner.fit(
        train_data, epochs=1000, shuffle=False, verbose=0, callbacks=[budget]
    )
    train_seconds = budget.elapsed()
    test_images, test_references = data["test"][:2]
    scores, captions = keras_captioning.metrics.evaluate_captioner(
        captioner,
        test_images,
        test_references,
        batch_size=100,
        verbose=0,
        return_captions=True,
    )
    result = {
        "mode": mode,
        "seed": seed,
        "train_seconds": round(train_seconds, 1),
        "steps": budget.steps,
        "BLEU-4": scores["BLEU-4"],
        "CIDEr-D": scores["CIDEr-D"],
    }
    if data["scenes"] is not None:
        content = shapes.score_content(captions, data["scenes"])
        result["object_F1"] = content["object_f1"]
        result["entirely_right"] = content["entirely_right"]
    return result


def load(args):
    has_content = hasattr(shapes, "score_content")
    train = shapes.load_data(
        "train", num_images=args.num_train, image_size=IMAGE_SIZE, seed=0
    )
    options = {"return_scenes": True} if has_content else {}
    test = shapes.load_data(
        "test",
        num_images=args.num_test,
        image_size=IMAGE_SIZE,
        seed=0,
        **options,
    )
    vocabulary = keras_captioning.text.build_vocabulary(train[1])
    max_length = max(
        len(caption.split()) for captions in train[1] for caption in captions
    )
    return {
        "train": train,
        "test": test,
        "scenes": test[2] if has_content else None,
        "vocabulary": vocabulary,
        "max_length": max_length,
    }


def summarise(results):
    metrics = ["BLEU-4", "CIDEr-D", "object_F1", "entirely_right"]
    metrics = [name for name in metrics if name in results[0]]
    header = f"{'mode':<20}{'runs':>5}{'steps':>7}" + "".join(
        f"{name:>18}" for name in metrics
    )
    print(header)
    modes = list(dict.fromkeys(result["mode"] for result in results))
    for mode in modes:
        runs = [result for result in results if result["mode"] == mode]
        steps = statistics.mean(run["steps"] for run in runs)
        cells = []
        for name in metrics:
            values = [run[name] for run in runs]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.3f} ± {spread:.3f}")
        print(
            f"{mode:<20}{len(runs):>5}{steps:>7.0f}"
            + "".join(f"{cell:>18}" for cell in cells)
        )


def main(argv=None):
    args = parse_args(argv)
    modes = args.modes or list(conditioning.names())
    print(
        f"backend {keras.backend.backend()}, budget {args.budget:.0f} s per "
        f"run, seeds {args.seeds}, modes {modes}, {os.cpu_count()} CPUs"
    )
    data = load(args)
    results = []
    for seed in args.seeds:
        for mode in modes:
            load_average = os.getloadavg()[0]
            result = run_one(mode, seed, data, args)
            result["load_average"] = round(load_average, 2)
            results.append(result)
            print(json.dumps(result), flush=True)
            with open(args.output, "a") as file:
                file.write(json.dumps(result) + "\n")
    print(f"\nMean ± standard deviation over seeds {args.seeds}:")
    summarise(results)
    loads = [result["load_average"] for result in results]
    print(
        f"Load average before the runs: {min(loads):.1f} to "
        f"{max(loads):.1f} (mean {statistics.mean(loads):.1f}) on "
        f"{os.cpu_count()} CPUs."
    )
    return results


if __name__ == "__main__":
    sys.exit(main() and 0)
