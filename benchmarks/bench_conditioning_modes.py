"""Teacher-forced forward time of `CaptionDecoder` in each conditioning mode.

One fixed size for every mode: batch 32, captions of 20 tokens, 49 image steps
(a 7x7 feature map) of 256 features, embedding 256, one LSTM layer of 512
units, a vocabulary of 5,000 words. Each mode runs inside the same compiled
inference function (`predict_on_batch`), after a warm-up call, and the median
of `--repeats` calls is printed with its ratio to `init_inject`.

    KERAS_BACKEND=tensorflow python benchmarks/bench_conditioning_modes.py
    KERAS_BACKEND=jax python benchmarks/bench_conditioning_modes.py --quick
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_captioning.layers import CaptionDecoder  # noqa: E402
from keras_captioning.layers import conditioning  # noqa: E402


def time_mode(mode, sizes, repeats):
    token_ids = keras.Input(shape=(sizes["steps"],), dtype="int32")
    features = keras.Input(shape=(sizes["image_steps"], sizes["feature_dim"]))
    decoder = CaptionDecoder(
        sizes["vocabulary_size"],
        embedding_dim=sizes["embedding_dim"],
        units=sizes["units"],
        conditioning=mode,
    )
    model = keras.Model([token_ids, features], decoder(token_ids, features))
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
    start = time.perf_counter()
    model.predict_on_batch(batch)
    compile_seconds = time.perf_counter() - start
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(batch)
        timings.append(time.perf_counter() - start)
    return compile_seconds, statistics.median(timings)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    parser.add_argument("--repeats", type=int, default=10)
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
    print(f"{'mode':<12} {'first call s':>12} {'median ms':>10} {'ratio':>6}")
    baseline = None
    for mode in conditioning.names():
        first, median = time_mode(mode, sizes, args.repeats)
        baseline = baseline or median
        print(
            f"{mode:<12} {first:>12.2f} {1000 * median:>10.1f} "
            f"{median / baseline:>6.2f}"
        )


if __name__ == "__main__":
    main()
