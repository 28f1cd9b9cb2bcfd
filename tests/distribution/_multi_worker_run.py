"""One process of a data-parallel captioner training on the jax backend.

    python _multi_worker_run.py NUM_PROCESSES PROCESS_ID PORT BATCH_SIZE

With `NUM_PROCESSES` above 1 the process joins the cluster
`127.0.0.1:PORT` through `keras.distribution.initialize` (Keras's own
multi-host API; its variables `KERAS_DISTRIBUTION_*` would do the same)
and trains under `keras.distribution.DataParallel` over the devices of
every process, each process reading its own shard of the rows
(`CaptionPyDataset` takes its shard from the process info). `BATCH_SIZE`
is per process. Prints "cluster ready" once the cluster is up, then one
JSON line: the per-epoch training and validation losses, the steps per
second of the last epoch and this process's index.
"""

import json
import os
import sys
import time

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import jax  # noqa: E402

# The CPU backend has no collectives between processes without this.
jax.config.update("jax_cpu_collectives_implementation", "gloo")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_captioning  # noqa: E402

EPOCHS = 3
NUM_EXAMPLES = 64
WORDS = ["a", "red", "blue", "green", "circle", "square"]


def make_data(seed):
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 3, NUM_EXAMPLES)
    images = np.zeros((NUM_EXAMPLES, 16, 16, 3), "uint8")
    images[np.arange(NUM_EXAMPLES), :, :, colours] = 200
    names = np.array(["red", "green", "blue"])[colours]
    shapes = rng.choice(["circle", "square"], NUM_EXAMPLES)
    return images, [[f"a {n} {s}"] for n, s in zip(names, shapes)]


def main(num_processes, process_id, port, batch_size):
    if num_processes > 1:
        keras.distribution.initialize(
            job_addresses=f"127.0.0.1:{port}",
            num_processes=num_processes,
            process_id=process_id,
        )
        print("cluster ready", flush=True)
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(
                devices=keras.distribution.list_devices(),
                # The PyDataset is sharded by process already.
                auto_shard_dataset=False,
            )
        )
    keras.utils.set_random_seed(0)
    captioner = keras_captioning.models.ImageCaptioner(
        WORDS,
        encoder=keras_captioning.models.SimpleCNN(filters=(8,), name="cnn"),
        feature_to_sequence={"units": 8},
        decoder={
            "embedding_dim": 8,
            "units": 16,
            "conditioning": "init_inject",
        },
        max_length=4,
    )
    captioner.build({"images": (None, 16, 16, 3), "token_ids": (None, None)})
    captioner.compile()

    def dataset(seed):
        images, references = make_data(seed)
        return keras_captioning.data.CaptionPyDataset(
            images,
            references,
            captioner.tokenizer,
            batch_size=batch_size,
            shuffle=False,
            workers=1,
        )

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds = time.perf_counter() - self.start

    timer = Timer()
    train = dataset(0)
    history = captioner.fit(
        train,
        epochs=EPOCHS,
        validation_data=dataset(1),
        callbacks=[timer],
        verbose=0,
    )
    print(
        json.dumps(
            {
                "process": jax.process_index(),
                "processes": jax.process_count(),
                "devices": len(jax.devices()),
                "loss": [float(v) for v in history.history["loss"]],
                "val_loss": [float(v) for v in history.history["val_loss"]],
                "steps_per_second": len(train) / timer.seconds,
                "package": keras_captioning.__file__,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(*map(int, sys.argv[1:5]))
