"""Caches a small encoder's features; the test may SIGKILL it at any point.

    python _cache_features_run.py CACHE_DIR

Prints one JSON line when it finishes: the images the encoder ran on in
this process and the seconds `cache_features` took. `make_encoder` and
`make_images` are imported by the test, so both sides compute the same key.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_captioning.data import cache_features  # noqa: E402

# The benchmark `bench_cache_resume.py` asks for more.
NUM_IMAGES = int(os.environ.get("CACHE_RUN_IMAGES", "96"))
BATCH_SIZE = 4


def make_images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (NUM_IMAGES, 32, 32, 3), dtype="uint8")


def make_encoder(filters=16):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3), dtype="uint8")
    features = keras.layers.Rescaling(1 / 255)(inputs)
    features = keras.layers.Conv2D(filters, 3, activation="relu")(features)
    features = keras.layers.Conv2D(filters, 3, activation="relu")(features)
    outputs = keras.layers.GlobalAveragePooling2D()(features)
    return keras.Model(inputs, outputs)


def main(cache_dir):
    encoder = make_encoder()
    seen = []
    predict_on_batch = encoder.predict_on_batch

    def counted(batch):
        seen.append(len(batch))
        return predict_on_batch(batch)

    encoder.predict_on_batch = counted
    start = time.perf_counter()
    features = cache_features(
        encoder, make_images(), cache_dir, batch_size=BATCH_SIZE, verbose=0
    )
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "images_encoded": sum(seen),
                "seconds": seconds,
                "rows": len(features),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
