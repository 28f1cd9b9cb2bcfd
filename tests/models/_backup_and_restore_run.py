"""Trains a small captioner with `keras.callbacks.BackupAndRestore`.

Run by `test_backup_and_restore.py` in a fresh process, which the script may
end itself with SIGKILL (no `finally`, no `atexit`: what a pre-empted machine
or the kernel's out-of-memory killer does):

    python _backup_and_restore_run.py BACKUP_DIR [--kill-after-epoch N]
        [--kill-after-step N] [--save-freq N]

`--kill-after-epoch N` kills the process once epoch N (1-based) has ended
and its backup is written; `--kill-after-step N` once the N-th training step
of the run has ended (the backup, if any, is written first, because the kill
callback comes after `BackupAndRestore`). Without a kill option the run
finishes and prints one JSON line: the epochs this process ran, the
optimizer's step count when training began in this process, the
per-epoch validation losses and the final validation loss.
"""

import json
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_captioning  # noqa: E402

EPOCHS = 5
BATCH_SIZE = 8
NUM_EXAMPLES = 48
WORDS = ["a", "red", "blue", "green", "circle", "square", "on", "left"]


def make_data(seed):
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 3, NUM_EXAMPLES)
    images = np.zeros((NUM_EXAMPLES, 16, 16, 3), "uint8")
    images[np.arange(NUM_EXAMPLES), :, :, colours] = 200
    images = np.clip(images + rng.integers(0, 40, images.shape), 0, 255).astype(
        "uint8"
    )
    names = np.array(["red", "green", "blue"])[colours]
    shapes = rng.choice(["circle", "square"], NUM_EXAMPLES)
    captions = [f"a {n} {s}" for n, s in zip(names, shapes)]
    return images, captions


def make_captioner():
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
        max_length=5,
    )
    captioner.build({"images": (None, 16, 16, 3), "token_ids": (None, None)})
    captioner.compile()
    return captioner


class Kill(keras.callbacks.Callback):
    def __init__(self, after_epoch=None, after_step=None):
        super().__init__()
        self.after_epoch = after_epoch
        self.after_step = after_step
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.steps == self.after_step:
            os.kill(os.getpid(), signal.SIGKILL)

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.after_epoch:
            os.kill(os.getpid(), signal.SIGKILL)


class Record(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []
        self.start_iterations = None

    def on_train_begin(self, logs=None):
        # Callbacks run in order: `BackupAndRestore` has restored by now.
        self.start_iterations = int(self.model.optimizer.iterations.numpy())

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def train(
    backup_dir, save_freq="epoch", kill_after_epoch=None, kill_after_step=None
):
    images, captions = make_data(0)
    val_images, val_captions = make_data(1)
    captioner = make_captioner()
    record = Record()
    callbacks = []
    if backup_dir is not None:
        callbacks.append(
            keras.callbacks.BackupAndRestore(
                backup_dir, save_freq=save_freq, double_checkpoint=True
            )
        )
    callbacks += [record, Kill(kill_after_epoch, kill_after_step)]
    history = captioner.fit(
        images,
        captioner.tokenize(captions),
        batch_size=BATCH_SIZE,
        epochs=EPOCHS,
        # Same batches in every process, so a resumed run can match an
        # uninterrupted one to float32 rounding.
        shuffle=False,
        validation_data=(val_images, captioner.tokenize(val_captions)),
        callbacks=callbacks,
        verbose=0,
    )
    return {
        "epochs": record.epochs,
        "start_iterations": record.start_iterations,
        "end_iterations": int(captioner.optimizer.iterations.numpy()),
        "val_loss": [float(v) for v in history.history["val_loss"]],
        "final_val_loss": float(
            captioner.evaluate(
                val_images,
                captioner.tokenize(val_captions),
                batch_size=BATCH_SIZE,
                verbose=0,
                return_dict=True,
            )["loss"]
        ),
    }


def main(argv):
    backup_dir = argv[0]
    options = dict(zip(argv[1::2], argv[2::2]))
    save_freq = options.get("--save-freq", "epoch")
    facts = train(
        backup_dir,
        save_freq=int(save_freq) if save_freq != "epoch" else "epoch",
        kill_after_epoch=int(options.get("--kill-after-epoch", 0)) or None,
        kill_after_step=int(options.get("--kill-after-step", 0)) or None,
    )
    facts["package"] = keras_captioning.__file__
    print(json.dumps(facts))


if __name__ == "__main__":
    main(sys.argv[1:])
