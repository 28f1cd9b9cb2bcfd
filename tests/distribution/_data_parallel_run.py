"""Trains one small captioner on one device and on two; prints both curves.

Run by `test_data_parallel.py` in a fresh process, because the two devices
must exist before the backend starts:

    python _data_parallel_run.py tensorflow   # tf.distribute.MirroredStrategy
    python _data_parallel_run.py jax          # keras.distribution.DataParallel

The TensorFlow run splits the CPU into two logical devices; the JAX run gets
two host devices from `XLA_FLAGS=--xla_force_host_platform_device_count=2`,
which the test sets in this process's environment. Prints one JSON line with
the per-epoch losses of both runs, the largest difference between their
trained weights, whether their greedy captions agree and facts about the
distributed run.
"""

import json
import os
import sys

BACKEND = sys.argv[1]
os.environ["KERAS_BACKEND"] = BACKEND
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

if BACKEND == "tensorflow":
    import tensorflow as tf

    # Must run before anything initialises TensorFlow's devices.
    (cpu,) = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpu,
        [tf.config.LogicalDeviceConfiguration()] * 2,
    )

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_captioning  # noqa: E402

EPOCHS = 3
GLOBAL_BATCH = 8
NUM_EXAMPLES = 32
WORDS = ["a", "red", "blue", "green", "circle", "square", "on", "left"]


def make_data():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (NUM_EXAMPLES, 16, 16, 3), dtype="uint8")
    # Every caption has four words, so every replica's half-batch holds the
    # same number of real tokens and the per-replica mean losses average to
    # exactly the single-device mean.
    captions = [" ".join(rng.choice(WORDS, 4)) for _ in range(NUM_EXAMPLES)]
    return images, captions


def make_captioner():
    # A convolution without batch normalisation: under MirroredStrategy each
    # replica would normalise with its own half-batch statistics, which is
    # expected and makes the runs differ for a reason unrelated to this check.
    encoder = keras.Sequential(
        [
            keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
            keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
        ],
        name="encoder",
    )
    captioner = keras_captioning.models.ImageCaptioner(
        WORDS,
        encoder=encoder,
        feature_to_sequence={"units": 8},
        decoder={"embedding_dim": 8, "units": 16},
        max_length=5,
    )
    captioner.build({"images": (None, 16, 16, 3), "token_ids": (None, None)})
    return captioner


def train(captioner, images, token_ids):
    captioner.compile()
    history = captioner.fit(
        images,
        token_ids,
        batch_size=GLOBAL_BATCH,
        epochs=EPOCHS,
        shuffle=False,
        verbose=0,
    )
    return history.history["loss"]


def main():
    images, captions = make_data()
    keras.utils.set_random_seed(0)
    single = make_captioner()
    initial_weights = single.get_weights()
    token_ids = single.tokenize(captions)
    single_losses = train(single, images, token_ids)

    facts = {}
    if BACKEND == "tensorflow":
        strategy = tf.distribute.MirroredStrategy(
            [device.name for device in tf.config.list_logical_devices("CPU")]
        )
        facts["replicas"] = strategy.num_replicas_in_sync
        with strategy.scope():
            distributed = make_captioner()
            distributed.set_weights(initial_weights)
            distributed_losses = train(distributed, images, token_ids)
        facts["variable_is_mirrored"] = isinstance(
            distributed.trainable_variables[0].value,
            tf.distribute.DistributedValues,
        )
    else:
        import jax

        devices = jax.devices()
        facts["replicas"] = len(devices)
        distribution = keras.distribution.DataParallel(devices=devices)
        with distribution.scope():
            distributed = make_captioner()
            distributed.set_weights(initial_weights)
            distributed_losses = train(distributed, images, token_ids)
        facts["variable_devices"] = len(
            distributed.trainable_variables[0].value.sharding.device_set
        )
    facts["max_weight_difference"] = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(single.get_weights(), distributed.get_weights())
    )
    # Generation reads the distributed variables: same weights, same words.
    facts["same_captions"] = bool(
        np.array_equal(
            single.generate(images[:GLOBAL_BATCH], batch_size=GLOBAL_BATCH),
            distributed.generate(
                images[:GLOBAL_BATCH], batch_size=GLOBAL_BATCH
            ),
        )
    )
    facts["package"] = keras_captioning.__file__
    facts["single"] = [float(loss) for loss in single_losses]
    facts["distributed"] = [float(loss) for loss in distributed_losses]
    print(json.dumps(facts))


if __name__ == "__main__":
    main()
