"""A user's pretrained encoder on a held-out task with real images.

    pip install -e ".[heldout]"
    python benchmarks/heldout_pretrained_encoder.py --seeds 0 1 2

The defaults of `ImageCaptioner` for an encoder that carries trained weights
(docs/pretrained_encoder.rst) are judged here. Images are real:
scikit-learn's bundled handwritten digits (`sklearn.datasets.load_digits`,
1,797 scans of 8x8 pixels, shipped in the wheel). The scans are split by
source image: 70% for pretraining and training canvases, 30% for the
held-out canvases, so a held-out canvas never shows a scan seen in training.

1. A small CNN (convolutions with BatchNormalization) is pretrained on
   single-digit classification, one scan at a random place and size on a
   32x32 canvas, and saved to `.keras`. Each recipe loads it as a user
   would and passes its feature map (the layer named "features") as
   `encoder=`.
2. The captioning task: 1-3 digits in distinct cells of a 2x2 grid on a
   32x32 canvas, captioned in reading order, "a three top left and a seven
   bottom right". "Entirely right" means every digit and every place right.

Recipes: a blind model (`simple_cnn` trained and tested on blank images:
what the captions' language alone gives); `simple_cnn` from scratch
(defaults); the pretrained encoder trained jointly at one learning rate
(the behaviour before `encoder_pretrained` existed,
`encoder_pretrained=False`); frozen (`encoder_trainable=False`); frozen
on cached features ("features": `fit_on_features` alone); the new default
(no encoder arguments); and "fine_tune" (`ImageCaptioner.fine_tune`, the
warm-up on cached features, then end to end; "fine_tune:warmup=4" sets
its `warmup_epochs`). "Places right" counts captions whose
places are all right, whatever the digits: the check of the position
embedding (`--recipes scratch` with and without
`--no-position-embedding`).
Budgets are training epochs of the same batches for every recipe, not
seconds, so the figures do not depend on the machine's load; the seconds
per epoch printed show what each recipe costs. The short budget is read
at epoch `--short-epochs` of a run of three times as many epochs (one
`fit` call per epoch, as a hand-written loop does, which also checks that
the schedule follows the optimizer's step count).

`--budget seconds` charges each recipe its time instead: every recipe's
seconds per step are measured in turns after compilation (and the
caching of features once), and each recipe gets the steps that fit into
the frozen encoder's time for `--short-epochs` epochs and three times
that. `--step-costs FILE` keeps those costs, so seeds run in other
processes get the same budgets.
"""

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_captioning  # noqa: E402

WORDS = (
    "zero", "one", "two", "three", "four",
    "five", "six", "seven", "eight", "nine",
)  # fmt: skip
ROWS = {2: ("top", "bottom"), 3: ("top", "middle", "bottom")}
COLUMNS = {2: ("left", "right"), 3: ("left", "centre", "right")}
CELL = 16
BATCH_SIZE = 32
# The pretraining canvas; the classifier takes any size afterwards.
CANVAS = 32


def grid_places(grid):
    """The place names of a `grid` x `grid` layout, in reading order."""
    return tuple(f"{r} {c}" for r in ROWS[grid] for c in COLUMNS[grid])


def load_scans():
    from sklearn.datasets import load_digits

    digits = load_digits()
    scans = (digits.images / 16.0 * 255.0).astype("uint8")
    order = np.random.default_rng(0).permutation(len(scans))
    cut = int(0.7 * len(scans))
    train = scans[order[:cut]], digits.target[order[:cut]]
    test = scans[order[cut:]], digits.target[order[cut:]]
    return train, test


def upscale(scan, size):
    """Nearest-neighbour upscaling of an 8x8 scan to `size` pixels."""
    index = (np.arange(size) * 8 // size).astype(int)
    return scan[index][:, index]


def single_digits(scans, labels, count, rng):
    """Classification data: one scan anywhere on the canvas."""
    images = np.zeros((count, CANVAS, CANVAS, 3), "uint8")
    targets = np.zeros(count, "int32")
    for i in range(count):
        k = rng.integers(len(scans))
        size = rng.integers(9, 15)
        row, col = rng.integers(0, CANVAS - size + 1, 2)
        images[i, row : row + size, col : col + size] = upscale(scans[k], size)[
            ..., None
        ]
        targets[i] = labels[k]
    return images, targets


def canvases(scans, labels, count, rng, grid=2):
    """Captioning data: 1-3 digits in distinct cells, with their places."""
    places = grid_places(grid)
    size_px = grid * CELL
    images = np.zeros((count, size_px, size_px, 3), "uint8")
    captions, scenes = [], []
    for i in range(count):
        cells = np.sort(
            rng.choice(len(places), rng.integers(1, 4), replace=False)
        )
        parts, scene = [], []
        for cell in cells:
            k = rng.integers(len(scans))
            size = rng.integers(9, 15)
            top = (cell // grid) * CELL + rng.integers(0, CELL - size + 1)
            left = (cell % grid) * CELL + rng.integers(0, CELL - size + 1)
            images[i, top : top + size, left : left + size] = upscale(
                scans[k], size
            )[..., None]
            parts.append(f"a {WORDS[labels[k]]} {places[cell]}")
            scene.append((WORDS[labels[k]], places[cell]))
        captions.append(" and ".join(parts))
        scenes.append(tuple(scene))
    return images, captions, scenes


def read_scene(caption):
    """The `(digit, place)` pairs a caption states, in its order."""
    scene = []
    for part in caption.split(" and "):
        words = part.split()
        if len(words) != 4 or words[0] != "a" or words[1] not in WORDS:
            return None
        scene.append((words[1], " ".join(words[2:])))
    return tuple(scene)


def entirely_right(captions, scenes):
    return float(
        np.mean([read_scene(c) == s for c, s in zip(captions, scenes)])
    )


def places_right(captions, scenes):
    """The share of captions that name exactly the right places."""
    return float(
        np.mean(
            [
                read_scene(c) is not None
                and [p for _, p in read_scene(c)] == [p for _, p in s]
                for c, s in zip(captions, scenes)
            ]
        )
    )


def pretrain_encoder(train, path, epochs, seed):
    """A digit classifier, saved as a user would save it."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    images, targets = single_digits(*train, 6000, rng)
    inputs = keras.Input((None, None, 3))
    x = inputs
    for filters in (16, 32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Identity(name="features")(x)
    pooled = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(pooled)
    classifier = keras.Model(inputs, outputs)
    classifier.compile(
        "adam", "sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    classifier.fit(images / 255.0, targets, epochs=epochs, verbose=0)
    classifier.save(path)
    return classifier


def load_encoder(path):
    """What a user does: load the classifier, keep its feature map."""
    classifier = keras.saving.load_model(path)
    return keras.Model(
        classifier.input, classifier.get_layer("features").output
    )


def recipe_arguments(recipe, encoder_path):
    if recipe in ("scratch", "blind"):
        return {"encoder": "simple_cnn"}
    arguments = {"encoder": load_encoder(encoder_path)}
    if recipe == "joint":
        arguments["encoder_pretrained"] = False
    elif recipe in ("frozen", "features"):
        arguments["encoder_trainable"] = False
    elif recipe.startswith("fine_tune"):
        pass  # The defaults; `warmup=` is an argument of `fine_tune`.
    elif recipe.startswith("default"):
        # "default" or "default:warmup=60,multiplier=0.5,inference=0".
        for item in filter(None, recipe.partition(":")[2].split(",")):
            key, value = item.split("=")
            key = {
                "warmup": "encoder_warmup_steps",
                "multiplier": "encoder_learning_rate_multiplier",
                "inference": "encoder_inference_mode",
            }[key]
            arguments[key] = (
                bool(int(value))
                if "mode" in key
                else (int(value) if "steps" in key else float(value))
            )
    else:
        raise ValueError(f"unknown recipe {recipe!r}")
    return arguments


def warmup_epochs(recipe):
    """`fine_tune`'s `warmup_epochs` in a recipe: "fine_tune:warmup=4"."""
    options = dict(
        item.split("=")
        for item in filter(None, recipe.partition(":")[2].split(","))
    )
    return int(options.get("warmup", 2))


class Session:
    """One recipe's captioner, its data, and the public calls it trains by.

    `fit` recipes train with `fit` on images; "features" with
    `fit_on_features` (the encoder frozen, its features cached once); the
    "fine_tune" recipe with `ImageCaptioner.fine_tune`.
    """

    def __init__(self, recipe, seed, data, args):
        keras.utils.clear_session()
        keras.utils.set_random_seed(seed)
        self.recipe, self.seed = recipe, seed
        self.steps_per_epoch = data["steps_per_epoch"]
        self.captioner = keras_captioning.models.ImageCaptioner(
            data["vocabulary"],
            feature_to_sequence={
                "units": 64,
                "position_embedding": args.position_embedding,
            },
            decoder={"embedding_dim": 32, "units": 128},
            max_length=data["max_length"],
            **recipe_arguments(recipe, data["encoder_path"]),
        )
        self.captioner.compile()
        images, captions, _ = data["train"]
        self.test_images, self.test_captions, self.test_scenes = data["test"]
        if recipe == "blind":
            # The captions' language alone: the images are blank.
            images = np.zeros_like(images)
            self.test_images = np.zeros_like(self.test_images)
        self.images, self.references = images, [[c] for c in captions]
        self.train = keras_captioning.data.make_dataset(
            images,
            self.references,
            self.captioner.tokenizer,
            batch_size=BATCH_SIZE,
            seed=seed,
        )
        self.cache_dir = tempfile.mkdtemp(prefix="features_")

    @property
    def steps(self):
        return int(self.captioner.optimizer.iterations)

    def fit(self, steps, callbacks=()):
        """`steps` more steps of `fit` (whole epochs, then a part of one)."""
        epochs, rest = divmod(steps, self.steps_per_epoch)
        if epochs:
            self.captioner.fit(
                self.train, epochs=epochs, verbose=0, callbacks=[*callbacks]
            )
        if rest:
            self.captioner.fit(
                self.train,
                epochs=1,
                steps_per_epoch=rest,
                verbose=0,
                callbacks=[*callbacks],
            )

    def fit_on_features(self, steps, callbacks=()):
        epochs, rest = divmod(steps, self.steps_per_epoch)
        for count, steps_per_epoch in (
            (epochs, None),
            (1 if rest else 0, rest),
        ):
            if count:
                self.captioner.fit_on_features(
                    self.images,
                    self.references,
                    self.cache_dir,
                    batch_size=BATCH_SIZE,
                    epochs=count,
                    seed=self.seed,
                    verbose=0,
                    callbacks=[*callbacks],
                    **({"steps_per_epoch": rest} if steps_per_epoch else {}),
                )

    def fine_tune(self, warmup_steps, steps):
        """`fine_tune` to `warmup_steps` on features, then `steps` more."""
        warmup = warmup_epochs(self.recipe)
        if warmup_steps < warmup * self.steps_per_epoch:
            # The budget ends inside the warm-up: its first phase alone.
            self.fit_on_features(warmup_steps - self.steps)
            return
        if self.steps < warmup_steps:
            # The rest of a warm-up the short budget cut: exactly, where
            # `fine_tune` would finish its last epoch.
            self.fit_on_features(warmup_steps - self.steps)
        epochs, rest = divmod(steps, self.steps_per_epoch)
        # A second call skips the warm-up: the step count says it is done.
        self.captioner.fine_tune(
            self.images,
            self.references,
            self.cache_dir,
            warmup_epochs=warmup,
            epochs=epochs,
            batch_size=BATCH_SIZE,
            seed=self.seed,
            verbose=0,
        )
        self.fit(rest)

    def score(self, label, seconds):
        predicted = self.captioner.caption(self.test_images, batch_size=250)
        bleu = keras_captioning.metrics.corpus_bleu(
            [[c] for c in self.test_captions], predicted
        )[3]
        result = {
            "right": entirely_right(predicted, self.test_scenes),
            "places": places_right(predicted, self.test_scenes),
            "bleu4": float(bleu),
            "seconds": seconds,
            "steps": self.steps,
        }
        print(
            f"  {self.recipe:<40} seed {self.seed} {label} "
            f"(step {result['steps']}): entirely right "
            f"{result['right']:.3f} places right {result['places']:.3f} "
            f"BLEU-4 {bleu:.3f} ({seconds:.1f} s of training, load "
            f"{os.getloadavg()[0]:.1f})",
            flush=True,
        )
        return result


def run(recipe, seed, data, args):
    """Budgets in epochs: one call per epoch, scored along the way."""
    session = Session(recipe, seed, data, args)
    results, seconds = {}, 0.0
    for epoch in range(1, 3 * args.short_epochs + 1):
        start = time.perf_counter()
        if recipe == "features":
            session.fit_on_features(session.steps_per_epoch)
        elif recipe.startswith("fine_tune"):
            # One epoch a call: a warm-up epoch while the step count is
            # inside the warm-up, then one epoch end to end.
            warmup = min(warmup_epochs(recipe), epoch)
            session.captioner.fine_tune(
                session.images,
                session.references,
                session.cache_dir,
                warmup_epochs=warmup,
                epochs=0 if epoch <= warmup_epochs(recipe) else 1,
                batch_size=BATCH_SIZE,
                seed=seed,
                verbose=0,
            )
        else:
            session.fit(session.steps_per_epoch)
        seconds += time.perf_counter() - start
        if epoch in (args.short_epochs, 3 * args.short_epochs) or args.curve:
            results[epoch] = session.score(f"epoch {epoch:>2}", seconds)
            results[epoch]["s_per_epoch"] = seconds / epoch
    return results


class StepTimer(keras.callbacks.Callback):
    """Seconds per training step after the first `skip` (compilation)."""

    def __init__(self, skip=3):
        super().__init__()
        self.skip = skip
        self.times = []
        self.train_begin = None

    def on_train_begin(self, logs=None):
        self.train_begin = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())

    def per_step(self):
        times = self.times[self.skip :]
        return (times[-1] - times[0]) / (len(times) - 1)


def step_costs(recipes, data, args):
    """Each recipe's seconds per step, measured in turns after compiling.

    Round after round, every recipe trains one epoch on its own seeded
    captioner (not the one that is scored), so a change of the machine's
    load touches every recipe alike. The median over rounds is kept. A
    `fit_on_features` phase is timed on its cached features; the caching
    itself (the encoder over the training images, on a fresh cache) is
    timed apart.
    """
    sessions = {recipe: Session(recipe, 0, data, args) for recipe in recipes}
    costs = collections.defaultdict(list)
    for _ in range(args.calibration_rounds):
        for recipe, session in sessions.items():
            if recipe == "features" or recipe.startswith("fine_tune"):
                session.cache_dir = tempfile.mkdtemp(prefix="features_")
                timer = StepTimer()
                start = time.perf_counter()
                session.fit_on_features(session.steps_per_epoch, [timer])
                costs[(recipe, "cache")].append(timer.train_begin - start)
                costs[(recipe, "features")].append(timer.per_step())
            if recipe != "features":
                timer = StepTimer()
                session.fit(session.steps_per_epoch, [timer])
                costs[(recipe, "fit")].append(timer.per_step())
    return {key: statistics.median(values) for key, values in costs.items()}


def plan(recipe, seconds, costs, steps_per_epoch):
    """The steps of each phase that fit into `seconds` of training."""
    if recipe == "features":
        left = seconds - costs[(recipe, "cache")]
        return {"features": max(0, int(left / costs[(recipe, "features")]))}
    if recipe.startswith("fine_tune"):
        left = seconds - costs[(recipe, "cache")]
        warmup = min(
            warmup_epochs(recipe) * steps_per_epoch,
            max(0, int(left / costs[(recipe, "features")])),
        )
        left -= warmup * costs[(recipe, "features")]
        return {
            "features": warmup,
            "fit": max(0, int(left / costs[(recipe, "fit")])),
        }
    return {"fit": int(seconds / costs[(recipe, "fit")])}


def run_for_seconds(recipe, seed, data, args, costs):
    """Budgets in seconds-equivalent steps: the frozen encoder's time."""
    session = Session(recipe, seed, data, args)
    short = (
        args.short_epochs * session.steps_per_epoch * costs[("frozen", "fit")]
    )
    results, done = {}, {"features": 0, "fit": 0}
    for label, seconds in (("short", short), ("long", 3 * short)):
        steps = plan(recipe, seconds, costs, session.steps_per_epoch)
        more = {k: steps[k] - done[k] for k in steps}
        start = time.perf_counter()
        if recipe == "features":
            session.fit_on_features(more["features"])
        elif recipe.startswith("fine_tune"):
            session.fine_tune(steps["features"], more["fit"])
        else:
            session.fit(more["fit"])
        done.update(steps)
        results[label] = session.score(
            f"{label} ({seconds:.0f} s-equivalent: "
            + ", ".join(f"{v} {k} steps" for k, v in steps.items())
            + ")",
            time.perf_counter() - start,
        )
        results[label]["plan"] = dict(steps)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--recipes",
        nargs="+",
        default=["blind", "scratch", "joint", "frozen", "default"],
    )
    parser.add_argument("--num-train", type=int, default=2000)
    parser.add_argument("--num-test", type=int, default=500)
    parser.add_argument("--short-epochs", type=int, default=4)
    parser.add_argument("--pretrain-epochs", type=int, default=5)
    parser.add_argument(
        "--no-position-embedding",
        dest="position_embedding",
        action="store_false",
    )
    parser.add_argument(
        "--grid",
        type=int,
        choices=(2, 3),
        default=2,
        help="cells per side: 2 (32x32 canvases) or 3 (48x48, 9 places)",
    )
    parser.add_argument(
        "--curve", action="store_true", help="score after every epoch"
    )
    parser.add_argument(
        "--budget",
        choices=("epochs", "seconds"),
        default="epochs",
        help="epochs: the same steps for every recipe; seconds: each "
        "recipe gets the steps that fit into the frozen encoder's time for "
        "--short-epochs (and three times that), from per-step costs "
        "measured in this run",
    )
    parser.add_argument(
        "--step-costs",
        help="--budget seconds: a JSON file of per-step costs; read when it "
        "exists (other seeds in other processes then get the same budgets), "
        "else measured and written to it",
    )
    parser.add_argument(
        "--calibration-rounds",
        type=int,
        default=2,
        help="--budget seconds: rounds of one timed epoch per recipe",
    )
    args = parser.parse_args()

    train_scans, test_scans = load_scans()
    rng = np.random.default_rng(0)
    train = canvases(*train_scans, args.num_train, rng, args.grid)
    test = canvases(*test_scans, args.num_test, rng, args.grid)
    vocabulary = sorted({w for c in train[1] for w in c.split()})
    max_length = max(len(c.split()) for c in train[1])
    workdir = tempfile.mkdtemp(prefix="heldout_pretrained_")
    encoder_path = os.path.join(workdir, "digit_classifier.keras")
    start = time.perf_counter()
    classifier = pretrain_encoder(
        train_scans, encoder_path, args.pretrain_epochs, seed=0
    )
    held_out = single_digits(*test_scans, 1000, np.random.default_rng(1))
    accuracy = classifier.evaluate(held_out[0] / 255.0, held_out[1], verbose=0)[
        1
    ]
    print(
        f"backend={keras.backend.backend()} train={args.num_train} "
        f"test={args.num_test} canvases (disjoint scans), short budget "
        f"{args.short_epochs} epochs, long {3 * args.short_epochs}; "
        f"position_embedding={args.position_embedding} grid={args.grid}\n"
        f"pretrained classifier: held-out digit accuracy {accuracy:.3f} "
        f"({time.perf_counter() - start:.0f} s), saved to {encoder_path}"
    )
    common = collections.Counter(train[1]).most_common(1)[0][0]
    blind = [common] * len(test[0])
    bleu = keras_captioning.metrics.corpus_bleu([[c] for c in test[1]], blind)[
        3
    ]
    print(
        f"most common training caption {common!r}: entirely right "
        f"{entirely_right(blind, test[2]):.3f} BLEU-4 {float(bleu):.3f}"
    )
    data = {
        "train": train,
        "test": test,
        "vocabulary": vocabulary,
        "max_length": max_length,
        "encoder_path": encoder_path,
        "steps_per_epoch": -(-args.num_train // BATCH_SIZE),
    }
    if args.budget == "seconds":
        return seconds_table(data, args)
    table = collections.defaultdict(list)
    for seed in args.seeds:
        for recipe in args.recipes:
            for epoch, value in run(recipe, seed, data, args).items():
                table[(recipe, epoch)].append((seed, value))
    print(
        "\nrecipe | epochs | entirely right per seed | mean | places right "
        "mean | BLEU-4 mean | s/epoch"
    )
    for (recipe, epoch), rows in sorted(table.items()):
        rights = [v["right"] for _, v in rows]
        print(
            f"{recipe:<40} | {epoch:>2} | "
            + " ".join(f"{r:.3f}" for r in rights)
            + f" | {statistics.mean(rights):.3f} | "
            f"{statistics.mean(v['places'] for _, v in rows):.3f} | "
            f"{statistics.mean(v['bleu4'] for _, v in rows):.3f} | "
            f"{statistics.mean(v['s_per_epoch'] for _, v in rows):.1f} s/ep"
        )
    return 0


def seconds_table(data, args):
    recipes = list(dict.fromkeys(["frozen", *args.recipes]))
    start = time.perf_counter()
    if args.step_costs and os.path.exists(args.step_costs):
        with open(args.step_costs) as file:
            costs = {
                tuple(key.split("/")): value
                for key, value in json.load(file).items()
            }
        print(f"\nseconds per step, read from {args.step_costs}")
    else:
        costs = step_costs(recipes, data, args)
        print(
            f"\nseconds per step, median of {args.calibration_rounds} "
            f"interleaved rounds after compilation "
            f"({time.perf_counter() - start:.0f} s, load "
            f"{os.getloadavg()[0]:.1f})"
        )
        if args.step_costs:
            with open(args.step_costs, "w") as file:
                json.dump({"/".join(k): v for k, v in costs.items()}, file)
    frozen = costs[("frozen", "fit")]
    print("ratio to the frozen encoder's `fit` step:")
    for (recipe, phase), value in sorted(costs.items()):
        ratio = "" if phase == "cache" else f"  x{value / frozen:.2f}"
        print(f"  {recipe:<32} {phase:<9} {value:.4f} s{ratio}")
    short = args.short_epochs * data["steps_per_epoch"] * frozen
    print(
        f"budgets: {short:.1f} s-equivalent (the frozen encoder's "
        f"{args.short_epochs * data['steps_per_epoch']} steps) and "
        f"{3 * short:.1f} s"
    )
    table = collections.defaultdict(list)
    for seed in args.seeds:
        for recipe in args.recipes:
            results = run_for_seconds(recipe, seed, data, args, costs)
            for label, value in results.items():
                table[(recipe, label)].append((seed, value))
    print(
        "\nrecipe | budget | steps | entirely right per seed | mean | "
        "places right mean | BLEU-4 mean"
    )
    for recipe, label in (
        (r, b) for r in args.recipes for b in ("short", "long")
    ):
        rows = table[(recipe, label)]
        rights = [v["right"] for _, v in rows]
        steps = ", ".join(f"{v} {k}" for k, v in rows[0][1]["plan"].items())
        print(
            f"{recipe:<40} | {label:<5} | {steps} | "
            + " ".join(f"{r:.3f}" for r in rights)
            + f" | {statistics.mean(rights):.3f} | "
            f"{statistics.mean(v['places'] for _, v in rows):.3f} | "
            f"{statistics.mean(v['bleu4'] for _, v in rows):.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
