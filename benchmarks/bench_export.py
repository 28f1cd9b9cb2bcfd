"""Artifact sizes and latencies of an exported captioner, in one run.

Trains one small attention captioner on the shapes data (SimpleCNN on
48x48 images, 256-unit LSTM; a few epochs), exports it as a SavedModel, a
LiteRT file (float32 and dynamic-range quantised) and an ONNX file, all
with greedy search, and times, at batch 1 and batch 32, interleaved round
by round:

- `keras caption`: `captioner.caption(images)` (compiled with XLA);
- `savedmodel`: `tf.saved_model.load(...).serve(images)`, strings out;
- `litert float32` / `litert dynamic`: the LiteRT interpreter's `serve`
  signature runner (token ids out);
- `onnx`: `onnxruntime` on CPU (token ids out).

Prints the size on disk of each artifact, the best and median latency per
call and per image, and the test-split CIDEr-D of the Keras model and of
each artifact's captions (how much quantisation changes it), with the load
average. Run from the repository root:

    KERAS_BACKEND=tensorflow python benchmarks/bench_export.py

`--quick` trains on a few images for one epoch (a smoke test).
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _timing  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_captioning  # noqa: E402
from keras_captioning.datasets import shapes  # noqa: E402
from keras_captioning.export import captions_from_ids  # noqa: E402
from keras_captioning.export import vocabulary_path  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--num-train", type=int, default=2000)
    parser.add_argument("--num-test", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.num_train, args.num_test, args.rounds = 1, 64, 32, 2
    return args


def train(args):
    images, references = shapes.load_data(
        "train", num_images=args.num_train, image_size=48
    )
    vocabulary = keras_captioning.text.build_vocabulary(references)
    captioner = keras_captioning.models.ImageCaptioner(
        vocabulary,
        encoder=keras_captioning.models.SimpleCNN(
            filters=(32, 64, 128, 256), name="encoder"
        ),
        feature_to_sequence={"units": 256, "activation": "relu"},
        decoder={
            "conditioning": "attention",
            "embedding_dim": 64,
            "units": 256,
        },
        max_length=16,
    )
    captioner.compile(optimizer=keras.optimizers.Adam(3e-3))
    flat_images = np.repeat(images, [len(r) for r in references], axis=0)
    captions = [caption for captions in references for caption in captions]
    captioner.fit(
        flat_images,
        captioner.tokenize(captions),
        epochs=args.epochs,
        batch_size=64,
        verbose=0,
    )
    return captioner


def folder_size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
    )


def main(argv=None):
    args = parse_args(argv)
    import onnxruntime
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    print(_timing.describe_machine())
    keras.utils.set_random_seed(0)
    captioner = train(args)
    test_images, test_references = shapes.load_data(
        "test", num_images=args.num_test, image_size=48
    )
    folder = tempfile.mkdtemp()
    paths = {
        "savedmodel": os.path.join(folder, "captioner", "1"),
        "litert float32": os.path.join(folder, "float.tflite"),
        "litert dynamic": os.path.join(folder, "dynamic.tflite"),
        "onnx": os.path.join(folder, "captioner.onnx"),
    }
    captioner.export(paths["savedmodel"])
    captioner.export(paths["litert float32"], format="litert")
    captioner.export(
        paths["litert dynamic"], format="litert", quantize="dynamic"
    )
    captioner.export(paths["onnx"], format="onnx")

    served = tf.saved_model.load(paths["savedmodel"])
    runners = {
        name: Interpreter(model_path=paths[name]).get_signature_runner("serve")
        for name in ("litert float32", "litert dynamic")
    }
    session = onnxruntime.InferenceSession(
        paths["onnx"], providers=["CPUExecutionProvider"]
    )

    def caption_functions(images):
        return {
            "keras caption": lambda: captioner.caption(
                images, batch_size=len(images)
            ),
            "savedmodel": lambda: [
                text.decode()
                for text in served.serve(tf.constant(images))["captions"]
                .numpy()
                .tolist()
            ],
            **{
                name: (
                    lambda runner=runner, name=name: captions_from_ids(
                        runner(images=images)["token_ids"],
                        vocabulary_path(paths[name]),
                    )
                )
                for name, runner in runners.items()
            },
            "onnx": lambda: captions_from_ids(
                session.run(["token_ids"], {"images": images})[0],
                vocabulary_path(paths["onnx"]),
            ),
        }

    # Test-split captions of every contender, and their CIDEr-D.
    functions = caption_functions(test_images)
    rows = []
    keras_captions = functions["keras caption"]()
    for name, function in functions.items():
        captions = function()
        scores = keras_captioning.metrics.evaluate_captions(
            test_references, captions
        )
        agree = np.mean([a == b for a, b in zip(captions, keras_captions)])
        size = "" if name == "keras caption" else folder_size(paths[name])
        rows.append(
            [
                name,
                f"{size / 1e6:.2f}" if size else "-",
                f"{scores['CIDEr-D']:.3f}",
                f"{agree:.1%}",
            ]
        )
    print(f"\nTest split ({args.num_test} images), greedy search:")
    _timing.print_table(
        ["artifact", "size MB", "CIDEr-D", "same as keras"], rows
    )

    for batch in (1, 32):
        images = test_images[:batch]
        functions = caption_functions(images)
        for function in functions.values():
            function()  # warm-up (compilation, allocation)
        times = _timing.interleaved(functions, args.rounds)
        rows = []
        for name, (wall, _) in times.items():
            best, median = _timing.summary(wall)
            rows.append(
                [
                    name,
                    f"{best * 1e3:.1f}",
                    f"{median * 1e3:.1f}",
                    f"{median * 1e3 / batch:.2f}",
                ]
            )
        print(f"\nBatch {batch} ({args.rounds} rounds):")
        _timing.print_table(
            ["artifact", "best ms", "median ms", "median ms/image"], rows
        )
    print(f"\nload average at the end {_timing.load_average():.1f}")


if __name__ == "__main__":
    main()
