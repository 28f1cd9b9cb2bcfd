"""Saves (or exports) a small captioner over a path, again and again.

    python _save_run.py save|export|litert|onnx PATH

Prints "writing" before the first write, so the test can SIGKILL it at a
random moment during one of the writes. `make_captioner(seed)` is
imported by the test.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

import keras_captioning  # noqa: E402

WORDS = ["a", "red", "blue", "circle", "square"]


def make_captioner(seed):
    keras.utils.set_random_seed(seed)
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
    return captioner


def main(kind, path):
    captioner = make_captioner(seed=1)
    print("writing", flush=True)
    for _ in range(100):
        if kind == "save":
            captioner.save(path)
        elif kind == "export":
            captioner.export(path)
        else:
            captioner.export(path, format=kind)


if __name__ == "__main__":
    main(*sys.argv[1:3])
