"""Every GPU figure in one short run; on a CPU, a small run that CI keeps.

On a machine with a GPU (found by the backend), in under 8 minutes, it
prints, on the current Keras backend (`KERAS_BACKEND`, TensorFlow by
default):

1. training images per second at 224x224 (`--image-size`) of an
   `ImageCaptioner` with `--encoder` (default `mobilenet_v3_small`, random
   weights: speed does not depend on them) and an attention LSTM of 512
   units: the encoder fine-tuned end to end and frozen
   (`encoder_trainable=False`), each in `float32` and `mixed_float16`;
2. for every registered conditioning mode with LSTM cells, whether its
   decoder can use a fused recurrent layer (the modes on
   `keras.layers.LSTM`) and whether a training step actually called the
   backend's cuDNN LSTM kernel (TensorFlow and PyTorch; JAX has none);
3. captions per second of greedy and beam search (width 3) with XLA
   (`jit_compile=True`, `generate`'s default);
4. the input pipeline's images per second reading 640x480 photo-like
   JPEGs to the image size: `CaptionPyDataset` with 1, 4 and 8 workers
   (threads) and `make_dataset`.

Without a GPU it runs the same steps at small sizes (the `simple_cnn`
encoder at 32x32, tiny decoder, a few batches), so CI can check that it
does not rot; `--quick` asks for that run on a GPU too. Most of its time
is tracing and compiling, so the small run trains two of the four
configurations (`float32` fine-tuned, `mixed_float16` frozen: both
policies, both phases) and compiles two XLA generation loops; each
section prints its seconds.
Exit status 0 when every step ran.

    python benchmarks/gpu_check.py            # GPU: the real figures
    python benchmarks/gpu_check.py --quick    # CI: the smoke run
"""

import argparse
import concurrent.futures
import os
import pathlib
import shutil
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import keras_captioning  # noqa: E402

FULL = dict(
    image_size=224,
    batch_size=64,
    train_steps=10,
    units=512,
    embedding_dim=256,
    vocabulary=5000,
    max_length=20,
    generate_batch=64,
    generate_rounds=3,
    files=512,
    workers=(1, 4, 8),
    training=(
        ("float32", "fine-tuned"),
        ("float32", "frozen"),
        ("mixed_float16", "fine-tuned"),
        ("mixed_float16", "frozen"),
    ),
)
QUICK = dict(
    image_size=32,
    batch_size=4,
    train_steps=2,
    units=16,
    embedding_dim=8,
    vocabulary=40,
    max_length=5,
    generate_batch=4,
    generate_rounds=1,
    files=16,
    workers=(1, 2),
    # Each training configuration traces and compiles its own step, the
    # bulk of a CPU run: two of the four still run both policies and both
    # phases, which is what the smoke run checks.
    training=(("float32", "fine-tuned"), ("mixed_float16", "frozen")),
)


def gpu_devices():
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]
    if backend == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform == "gpu"]
    import torch

    if torch.cuda.is_available():
        return [
            torch.cuda.get_device_name(i)
            for i in range(torch.cuda.device_count())
        ]
    return []


def vocabulary(size):
    return [f"w{index}" for index in range(size - 4)]


def captioner_for(sizes, encoder, conditioning="attention", **options):
    return keras_captioning.models.ImageCaptioner(
        vocabulary(sizes["vocabulary"]),
        encoder=encoder,
        image_size=(sizes["image_size"], sizes["image_size"]),
        decoder={
            "conditioning": conditioning,
            "units": sizes["units"],
            "embedding_dim": sizes["embedding_dim"],
        },
        max_length=sizes["max_length"],
        **options,
    )


def batch_for(sizes, count=None):
    rng = np.random.default_rng(0)
    count = count or sizes["batch_size"]
    side = sizes["image_size"]
    images = rng.integers(0, 256, (count, side, side, 3), dtype="uint8")
    token_ids = rng.integers(
        4, sizes["vocabulary"], (count, sizes["max_length"] + 2)
    ).astype("int32")
    token_ids[:, 0] = 1  # <start>
    token_ids[:, -1] = 2  # <end>
    return images, token_ids


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


def training_rates(sizes, encoder):
    """`{(policy, phase): images/s}` of `fit`, after a warm-up batch."""
    images, token_ids = batch_for(sizes, sizes["batch_size"])
    count = sizes["batch_size"] * sizes["train_steps"]
    images = np.concatenate([images] * sizes["train_steps"])[:count]
    token_ids = np.concatenate([token_ids] * sizes["train_steps"])[:count]
    rates = {}
    for policy, phase in sizes["training"]:
        trainable = phase == "fine-tuned"
        keras.config.set_dtype_policy(policy)
        try:
            captioner = captioner_for(
                sizes, encoder, encoder_trainable=trainable
            )
            captioner.compile()
            fit = dict(batch_size=sizes["batch_size"], verbose=0)
            captioner.fit(
                images[: sizes["batch_size"]],
                token_ids[: sizes["batch_size"]],
                **fit,
            )
            seconds = timed(captioner.fit, images, token_ids, **fit)
        finally:
            keras.config.set_dtype_policy("float32")
        rates[policy, phase] = count / seconds
    return rates


def cudnn_use(sizes):
    """`{mode: (fused layers, cuDNN kernel called)}`, LSTM cells."""
    backend = keras.backend.backend()
    module = None
    if backend in ("tensorflow", "torch"):
        import importlib

        module = importlib.import_module(f"keras.src.backend.{backend}.rnn")
    calls = {"count": 0}
    original = getattr(module, "_cudnn_lstm", None)
    if original is not None:

        def counting(*args, **kwargs):
            calls["count"] += 1
            return original(*args, **kwargs)

        module._cudnn_lstm = counting
    results = {}
    features = np.random.default_rng(0).random(
        (sizes["batch_size"], 16, sizes["units"]), dtype="float32"
    )
    _, token_ids = batch_for(sizes)
    try:
        for mode in keras_captioning.layers.conditioning.names():
            decoder = keras_captioning.layers.CaptionDecoder(
                sizes["vocabulary"],
                embedding_dim=sizes["embedding_dim"],
                units=sizes["units"],
                conditioning=mode,
            )
            calls["count"] = 0
            decoder(token_ids[:, :-1], features, training=True)
            layer = decoder.conditioning_layer
            stack = getattr(layer, "_stack", None)
            fused = bool(stack is not None and stack.recurrent_layers)
            called = None if original is None else calls["count"] > 0
            results[mode] = (fused, called)
    finally:
        if original is not None:
            module._cudnn_lstm = original
    return results


def generation_rates(sizes, encoder):
    """`{strategy: captions/s}` with XLA, after a compiling call."""
    captioner = captioner_for(sizes, encoder)
    captioner.compile(jit_compile=True)
    images, _ = batch_for(sizes, sizes["generate_batch"])
    rates = {}
    for name, options in (
        ("greedy", {"strategy": "greedy"}),
        ("beam, width 3", {"strategy": "beam", "beam_width": 3}),
    ):
        captioner.generate(images, **options)
        seconds = min(
            timed(captioner.generate, images, **options)
            for _ in range(sizes["generate_rounds"])
        )
        rates[name] = len(images) / seconds
    return rates


def pipeline_rates(sizes, directory):
    """`{path: images/s}` reading 640x480 JPEGs to the image size."""
    from bench_input_pipeline import photo

    def write(index):
        rng = np.random.default_rng(index)
        path = os.path.join(directory, f"{index:05d}.jpg")
        photo(rng, 640, 480).save(path, quality=90)
        return path

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        paths = list(pool.map(write, range(sizes["files"])))
    references = [["w0 w1 w2"]] * len(paths)
    tokenizer = keras_captioning.text.CaptionTokenizer(
        vocabulary(sizes["vocabulary"]), max_length=sizes["max_length"]
    )
    size = (sizes["image_size"], sizes["image_size"])
    options = dict(batch_size=sizes["batch_size"], image_size=size)
    rates = {}
    from keras.src.trainers.data_adapters.py_dataset_adapter import (
        PyDatasetAdapter,
    )

    for workers in sizes["workers"]:
        dataset = keras_captioning.data.CaptionPyDataset(
            paths, references, tokenizer, workers=workers, **options
        )
        adapter = PyDatasetAdapter(dataset, shuffle=False)
        adapter.on_epoch_begin()
        seconds = timed(list, adapter.get_numpy_iterator())
        adapter.on_epoch_end()
        rates[f"CaptionPyDataset, workers={workers}"] = len(paths) / seconds
    dataset = keras_captioning.data.make_dataset(
        paths, references, tokenizer, **options
    )
    seconds = timed(list, dataset.as_numpy_iterator())
    rates["make_dataset (tf.data, AUTOTUNE)"] = len(paths) / seconds
    return rates


def section(title):
    """Prints `title` and the seconds since the previous section."""
    now = time.perf_counter()
    if section.last is not None:
        print(f"   ({now - section.last:.0f} s)")
    section.last = now
    if title:
        print(f"\n{title}")


section.last = None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--encoder", default=None)
    parser.add_argument("--image-size", type=int, default=None)
    args = parser.parse_args()
    start = time.perf_counter()
    devices = gpu_devices()
    quick = args.quick or not devices
    sizes = dict(QUICK if quick else FULL)
    if args.image_size:
        sizes["image_size"] = args.image_size
    encoder = args.encoder or ("simple_cnn" if quick else "mobilenet_v3_small")
    print(
        f"backend {keras.backend.backend()} (keras {keras.__version__}), "
        f"GPUs: {', '.join(devices) or 'none'}; "
        f"{'quick run (small sizes)' if quick else 'full run'}, encoder "
        f"{encoder} at {sizes['image_size']}x{sizes['image_size']}, batch "
        f"{sizes['batch_size']}; load average {os.getloadavg()[0]:.2f}"
    )
    keras.utils.set_random_seed(0)

    section("1. training images/s (fit, after a warm-up batch):")
    for (policy, phase), rate in training_rates(sizes, encoder).items():
        print(f"   {policy:<14} {phase:<11} {rate:10.1f}")

    section("2. cuDNN LSTM kernel, one training-mode call per mode:")
    for mode, (fused, called) in cudnn_use(sizes).items():
        verdict = (
            "no cuDNN kernel on this backend"
            if called is None
            else ("cuDNN kernel called" if called else "not called")
        )
        print(
            f"   {mode:<20} fused layers: {'yes' if fused else 'no':<4} "
            f"{verdict}"
        )

    section("3. generation captions/s (XLA), after a compiling call:")
    for name, rate in generation_rates(sizes, encoder).items():
        print(f"   {name:<14} {rate:10.1f}")

    directory = tempfile.mkdtemp(prefix="kc-gpu-check-")
    try:
        section(
            f"4. input pipeline images/s, {sizes['files']} 640x480 JPEGs "
            f"to {sizes['image_size']} px:"
        )
        for name, rate in pipeline_rates(sizes, directory).items():
            print(f"   {name:<34} {rate:10.1f}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    section(None)
    print(
        f"\ndone in {time.perf_counter() - start:.0f} s; load average "
        f"{os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
