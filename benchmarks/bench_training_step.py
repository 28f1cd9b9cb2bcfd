"""Times an `ImageCaptioner.fit` step against the same network in stock Keras.

Both models have the same sizes and weights count: `SimpleCNN` (three blocks
of two 3x3 Conv2D without bias, BatchNormalization and ReLU, then 2x2 max
pooling; filters 32, 64, 128) on 64x64 `uint8` images scaled to [0, 1], a
Dense(256, relu) projection of each of the 8x8 positions, `init_inject`
conditioning (the initial LSTM `h` and `c` are Dense(512, tanh) of the mean
position), Embedding(1000, 256) with padding id 0, LSTM(512) and a Dense
vocabulary projection of 1000 logits. Batch 32, captions of 20 words
(`max_length + 2 = 22` ids, 21 teacher-forced steps).

- `ImageCaptioner`: `captioner.fit(images, token_ids)`, shifting the ids
  itself.
- `hand-written`: a functional `keras.Model` of stock layers, fed the
  shifted ids directly, as a tutorial would write it.

Both are compiled alike: `Adam(1e-3, clipnorm=5.0)`, `CaptionCrossentropy`,
`MaskedTokenAccuracy` and the backend's default `jit_compile="auto"` (XLA on
jax; no XLA on tensorflow on a CPU-only machine; eager on torch). After one
warm-up `fit` call each, `--rounds` interleaved `fit` calls of `--steps`
steps each are timed; the script prints the best and median wall-clock and
the median CPU time (all threads) per step, and the ratio of best wall
times and of median CPU times (steadier on a loaded machine), each against
the target <= 1.05x.

Peak memory: each of training the captioner, training the hand-written
model, greedy generation and beam search (width 5) runs in a fresh
subprocess. With both models built, it records the resident size
(`VmRSS`, the baseline), then calls its phase twice (one `fit` epoch of two
batches, or one `generate` call). Before each call the kernel's peak resident
size (`VmHWM`) is reset to the current one by writing `5` to
`/proc/self/clear_refs`; the figure is `VmHWM` after the call minus the
baseline, in MiB. The first call includes tracing and compilation; the
second shows the steady state, caches and compiled code included. Process
memory counts what NumPy, TensorFlow, XLA, JAX and PyTorch allocate alike
(`tracemalloc` sees none of their native allocations); it needs Linux.

Run from the repository root, once per backend:

    KERAS_BACKEND=tensorflow python benchmarks/bench_training_step.py
    KERAS_BACKEND=jax python benchmarks/bench_training_step.py
    KERAS_BACKEND=torch python benchmarks/bench_training_step.py

`--quick` runs tiny sizes in a few seconds (a smoke test, not a measurement).
"""

import argparse
import json
import pathlib
import subprocess
import sys

import _timing
import keras
import numpy as np

# Measure the checkout these scripts belong to, whichever copy of the
# package is installed.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import keras_captioning  # noqa: E402
from keras_captioning.losses import CaptionCrossentropy  # noqa: E402
from keras_captioning.metrics import MaskedTokenAccuracy  # noqa: E402

FULL = dict(
    vocabulary_size=1000,
    embedding_dim=256,
    units=512,
    feature_units=256,
    filters=(32, 64, 128),
    image_size=64,
    batch_size=32,
    words=20,
    steps=4,
    rounds=6,
)
QUICK = dict(
    vocabulary_size=40,
    embedding_dim=16,
    units=32,
    feature_units=16,
    filters=(4, 8),
    image_size=16,
    batch_size=4,
    words=5,
    steps=2,
    rounds=1,
)
RATIO_TARGET = 1.05
PHASES = ("train captioner", "train hand-written", "greedy", "beam k=5")


def build_captioner(sizes):
    vocabulary = [f"w{index}" for index in range(sizes["vocabulary_size"] - 4)]
    captioner = keras_captioning.models.ImageCaptioner(
        vocabulary,
        encoder=keras_captioning.models.SimpleCNN(
            filters=sizes["filters"], name="encoder"
        ),
        feature_to_sequence={
            "units": sizes["feature_units"],
            "activation": "relu",
        },
        decoder={
            "embedding_dim": sizes["embedding_dim"],
            "units": sizes["units"],
        },
        max_length=sizes["words"],
    )
    side = sizes["image_size"]
    captioner.build(
        {"images": (None, side, side, 3), "token_ids": (None, None)}
    )
    return captioner


def build_hand_written(sizes):
    """The same network from stock Keras layers, the tutorials' way."""
    layers = keras.layers
    side = sizes["image_size"]
    images = keras.Input((side, side, 3), dtype="uint8", name="images")
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")

    x = layers.Rescaling(1.0 / 255.0)(images)
    for filters in sizes["filters"]:
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Reshape((-1, sizes["filters"][-1]))(x)
    x = layers.Dense(sizes["feature_units"], activation="relu")(x)
    image_vector = layers.GlobalAveragePooling1D()(x)
    initial_h = layers.Dense(sizes["units"], activation="tanh")(image_vector)
    initial_c = layers.Dense(sizes["units"], activation="tanh")(image_vector)

    embedded = layers.Embedding(
        sizes["vocabulary_size"], sizes["embedding_dim"], mask_zero=True
    )(token_ids)
    sequence = layers.LSTM(sizes["units"], return_sequences=True)(
        embedded, initial_state=[initial_h, initial_c]
    )
    logits = layers.Dense(sizes["vocabulary_size"])(sequence)
    return keras.Model(
        {"images": images, "token_ids": token_ids}, logits, name="hand_written"
    )


def compile_model(model):
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3, clipnorm=5.0),
        loss=CaptionCrossentropy(),
        metrics=[MaskedTokenAccuracy()],
    )


def training_data(sizes, count):
    rng = np.random.default_rng(0)
    side = sizes["image_size"]
    images = rng.integers(0, 256, (count, side, side, 3), dtype="uint8")
    token_ids = rng.integers(
        4, sizes["vocabulary_size"], (count, sizes["words"] + 2)
    ).astype("int32")
    token_ids[:, 0] = 1
    # Captions of 40% to 100% of the longest: padding, as in real data.
    words = sizes["words"]
    lengths = rng.integers(max(1, 2 * words // 5), words + 1, count)
    for row, length in enumerate(lengths):
        token_ids[row, length + 1] = 2
        token_ids[row, length + 2 :] = 0
    return images, token_ids


def fit_functions(sizes):
    """Zero-argument callables, each one `fit` call of `steps` steps."""
    batch, steps = sizes["batch_size"], sizes["steps"]
    images, token_ids = training_data(sizes, batch * steps)
    captioner = build_captioner(sizes)
    hand_written = build_hand_written(sizes)
    compile_model(captioner)
    compile_model(hand_written)
    shifted = {"images": images, "token_ids": token_ids[:, :-1]}
    options = dict(batch_size=batch, epochs=1, shuffle=False, verbose=0)
    return (
        captioner,
        hand_written,
        {
            "ImageCaptioner": lambda: captioner.fit(
                images, token_ids, **options
            ).history["loss"][-1],
            "hand-written": lambda: hand_written.fit(
                shifted, token_ids[:, 1:], **options
            ).history["loss"][-1],
        },
    )


def _proc_status_mib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(f"{field} not in /proc/self/status")


def _reset_peak():
    # Writing 5 to clear_refs resets the kernel's high-water mark (VmHWM)
    # to the current resident size (Linux >= 4.0), so each call gets its
    # own peak.
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def peak_above(baseline, function):
    """Peak resident size during `function()`, above `baseline` MiB."""
    _reset_peak()
    function()
    return _proc_status_mib("VmHWM") - baseline


def measure_phase(phase, sizes):
    """Runs one phase twice; returns the peak RSS growth of each call."""
    batch = sizes["batch_size"]
    images, token_ids = training_data(sizes, batch * 2)
    captioner = build_captioner(sizes)
    hand_written = build_hand_written(sizes)
    compile_model(captioner)
    compile_model(hand_written)
    shifted = {"images": images, "token_ids": token_ids[:, :-1]}
    phases = {
        "train captioner": lambda: captioner.fit(
            images, token_ids, batch_size=batch, verbose=0
        ),
        "train hand-written": lambda: hand_written.fit(
            shifted, token_ids[:, 1:], batch_size=batch, verbose=0
        ),
        "greedy": lambda: captioner.generate(images, batch_size=batch),
        "beam k=5": lambda: captioner.generate(
            images, strategy="beam", beam_width=5, batch_size=batch
        ),
    }
    baseline = _proc_status_mib("VmRSS")
    first = peak_above(baseline, phases[phase])
    second = peak_above(baseline, phases[phase])
    return {"baseline": baseline, "first": first, "second": second}


def memory_table(quick):
    rows = []
    for phase in PHASES:
        command = [sys.executable, __file__, "--memory-phase", phase]
        if quick:
            command.append("--quick")
        result = subprocess.run(
            command, capture_output=True, text=True, check=False
        )
        lines = result.stdout.strip().splitlines()
        if result.returncode != 0 or not lines:
            rows.append([phase, "failed", result.stderr.strip()[-120:], ""])
            continue
        figures = json.loads(lines[-1])
        rows.append(
            [
                phase,
                f"{figures['baseline']:.0f}",
                f"{figures['first']:.0f}",
                f"{figures['second']:.0f}",
            ]
        )
    print()
    _timing.print_table(
        [
            "phase (fresh process)",
            "baseline RSS MiB",
            "peak above it, 1st call",
            "2nd call",
        ],
        rows,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--steps", type=int, help="training steps per fit call")
    parser.add_argument("--rounds", type=int, help="timed fit calls per model")
    parser.add_argument(
        "--memory-phase", choices=PHASES, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the memory table"
    )
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    if args.steps:
        sizes["steps"] = args.steps
    if args.rounds:
        sizes["rounds"] = args.rounds
    keras.utils.set_random_seed(0)
    if args.memory_phase:
        print(json.dumps(measure_phase(args.memory_phase, sizes)))
        return

    print(_timing.describe_machine())
    captioner, hand_written, functions = fit_functions(sizes)
    print(
        f"model: SimpleCNN{sizes['filters']} on {sizes['image_size']}x"
        f"{sizes['image_size']} images, features {sizes['feature_units']}, "
        f"vocabulary {sizes['vocabulary_size']}, embedding "
        f"{sizes['embedding_dim']}, LSTM units {sizes['units']}; batch "
        f"{sizes['batch_size']}, {sizes['words'] + 1} teacher-forced steps; "
        f"jit_compile: captioner {captioner.jit_compile}, hand-written "
        f"{hand_written.jit_compile}"
    )
    print(
        f"parameters: ImageCaptioner {captioner.count_params():,}, "
        f"hand-written {hand_written.count_params():,}"
    )
    warm_up = {
        name: _timing.timed(function) for name, function in functions.items()
    }
    times = _timing.interleaved(functions, sizes["rounds"])
    steps = sizes["steps"]
    rows = []
    for name, (walls, cpus) in times.items():
        fastest, median = _timing.summary(walls)
        rows.append(
            [
                name,
                f"{fastest / steps * 1e3:.1f}",
                f"{median / steps * 1e3:.1f}",
                f"{_timing.summary(cpus)[1] / steps * 1e3:.1f}",
                f"{warm_up[name]:.1f}",
                f"{len(walls)} x {steps}",
            ]
        )
    print()
    _timing.print_table(
        [
            "model",
            "best ms/step",
            "median ms/step",
            "median CPU ms/step",
            "warm-up s",
            "fit calls",
        ],
        rows,
    )
    walls = {name: min(values[0]) for name, values in times.items()}
    cpus = {
        name: _timing.summary(values[1])[1] for name, values in times.items()
    }
    ratio = walls["ImageCaptioner"] / walls["hand-written"]
    cpu_ratio = cpus["ImageCaptioner"] / cpus["hand-written"]
    print(
        f"\nImageCaptioner / hand-written, target <= {RATIO_TARGET}x: "
        f"{ratio:.3f}x best wall ({_timing.verdict(ratio, RATIO_TARGET, True)}"
        f"), {cpu_ratio:.3f}x median CPU "
        f"({_timing.verdict(cpu_ratio, RATIO_TARGET, True)})"
    )
    if not args.no_memory:
        memory_table(args.quick)
    print(f"\nload average at the end: {_timing.load_average():.1f}")


if __name__ == "__main__":
    main()
