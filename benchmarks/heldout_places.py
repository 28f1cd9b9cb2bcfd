"""How to tell the image steps their place: captions that name places.

    pip install -e ".[heldout]"
    python benchmarks/heldout_places.py --seeds 0 1 2

Each value of `FeatureToSequence(position_encoding=...)` is judged on a
task whose captions name where things are, with real images: 1-3 of
scikit-learn's handwritten digits in distinct cells of a 3x3 grid on a
48x48 canvas, captioned in reading order ("a three top left and a seven
middle centre"). The canvases, the split by scan (held-out canvases never
show a scan seen in training) and the pretrained digit classifier are
those of `heldout_pretrained_encoder.py`, imported from it.

For each seed, encoder and decoder, every encoding trains on the same
batches: `simple_cnn` from scratch, and the pretrained classifier's
feature map passed as `encoder=` with the library's defaults for a
pretrained encoder; the decoder is the library's default mode,
`"attention"`, unless `--decoders` names others. Budgets are training
steps: the short one is read at epoch `--short-epochs` of a run of three
times as many (one `fit` call per epoch). "Places right": the share of
held-out captions that name exactly the right places, whatever the digits;
"entirely right": every digit and every place right.

`--results FILE` appends each run to a JSON-lines file and skips runs
already there, so an interrupted measurement resumes; the table at the end
is printed from every matching run in the file.
"""

import argparse
import collections
import importlib.util
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


def load_task_helpers():
    """`heldout_pretrained_encoder.py`, the task's canvases and measures."""
    path = os.path.join(
        os.path.dirname(os.path.abspath(__file__)),
        "heldout_pretrained_encoder.py",
    )
    spec = importlib.util.spec_from_file_location("heldout_task", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


task = load_task_helpers()


def run_key(args, seed, encoder, decoder, encoding):
    return {
        "seed": seed,
        "encoder": encoder,
        "decoder": decoder,
        "encoding": encoding,
        "grid": args.grid,
        "num_train": args.num_train,
        "num_test": args.num_test,
        "short_epochs": args.short_epochs,
    }


def encoding_arguments(encoding):
    """`FeatureToSequence` arguments of `"name"` or `"name:option=int,..."`."""
    name, _, options = encoding.partition(":")
    arguments = {"position_encoding": name}
    for option in filter(None, options.split(",")):
        key, value = option.split("=")
        arguments[key] = int(value)
    return arguments


def run(key, data, args):
    keras.utils.clear_session()
    keras.utils.set_random_seed(key["seed"])
    encoder = (
        "simple_cnn"
        if key["encoder"] == "scratch"
        else task.load_encoder(data["encoder_path"])
    )
    arguments = encoding_arguments(key["encoding"])
    captioner = keras_captioning.models.ImageCaptioner(
        data["vocabulary"],
        encoder=encoder,
        feature_to_sequence={"units": 64, **arguments},
        decoder={
            "embedding_dim": 32,
            "units": 128,
            "conditioning": key["decoder"],
        },
        max_length=data["max_length"],
    )
    captioner.compile()
    images, captions, _ = data["train"]
    test_images, test_captions, test_scenes = data["test"]
    train = keras_captioning.data.make_dataset(
        images,
        [[c] for c in captions],
        captioner.tokenizer,
        batch_size=32,
        seed=key["seed"],
    )
    result, seconds = {}, 0.0
    for epoch in range(1, 3 * args.short_epochs + 1):
        start = time.perf_counter()
        captioner.fit(train, epochs=1, verbose=0)
        seconds += time.perf_counter() - start
        if epoch not in (args.short_epochs, 3 * args.short_epochs):
            continue
        predicted = captioner.caption(test_images, batch_size=250)
        budget = "short" if epoch == args.short_epochs else "long"
        result[budget] = {
            "places": task.places_right(predicted, test_scenes),
            "right": task.entirely_right(predicted, test_scenes),
            "steps": int(captioner.optimizer.iterations),
            "s_per_epoch": seconds / epoch,
        }
        print(
            f"  seed {key['seed']} {key['encoder']:<10} {key['decoder']:<9} "
            f"{key['encoding']:<11} step {result[budget]['steps']:>4}: "
            f"places right {result[budget]['places']:.3f} entirely right "
            f"{result[budget]['right']:.3f} ({seconds / epoch:.1f} s/epoch, "
            f"load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    return result


def read_results(path):
    if not path or not os.path.exists(path):
        return []
    with open(path) as file:
        return [json.loads(line) for line in file if line.strip()]


def print_table(rows, args):
    print(
        "\nencoder | decoder | encoding | budget (steps) | places right "
        "per seed, mean | entirely right per seed, mean"
    )
    table = collections.defaultdict(dict)
    for row in rows:
        group = (row["encoder"], row["decoder"], row["encoding"])
        table[group][row["seed"]] = row["result"]
    order = {name: i for i, name in enumerate(args.encodings)}
    for group in sorted(
        table, key=lambda g: (g[0], g[1], order.get(g[2], len(order)))
    ):
        by_seed = table[group]
        seeds = sorted(by_seed)
        for budget in ("short", "long"):
            steps = by_seed[seeds[0]][budget]["steps"]
            cells = []
            for measure in ("places", "right"):
                values = [by_seed[s][budget][measure] for s in seeds]
                cells.append(
                    " / ".join(f"{v:.3f}" for v in values)
                    + f", {statistics.mean(values):.3f}"
                )
            print(
                f"{group[0]:<10} | {group[1]:<9} | {group[2]:<11} | "
                f"{budget} ({steps}) | {cells[0]} | {cells[1]}"
                f"   seeds {seeds}"
            )


def make_data(args):
    """The canvases, their vocabulary and the pretrained classifier's file."""
    train_scans, test_scans = task.load_scans()
    rng = np.random.default_rng(0)
    train = task.canvases(*train_scans, args.num_train, rng, args.grid)
    test = task.canvases(*test_scans, args.num_test, rng, args.grid)
    encoder_path = os.path.join(
        tempfile.mkdtemp(prefix="heldout_places_"), "digit_classifier.keras"
    )
    if "pretrained" in args.encoders:
        task.pretrain_encoder(
            train_scans, encoder_path, args.pretrain_epochs, seed=0
        )
    # What the captions' language alone gives: one caption for every image.
    common = collections.Counter(train[1]).most_common(1)[0][0]
    baseline = [common] * len(test[0])
    settings = {
        "backend": keras.backend.backend(),
        "grid": f"{args.grid}x{args.grid}",
        "canvases (disjoint scans)": f"{args.num_train} / {args.num_test}",
        "epochs": f"{args.short_epochs} and {3 * args.short_epochs}",
        "seeds": args.seeds,
        f"most common caption {common!r}, places right": round(
            task.places_right(baseline, test[2]), 3
        ),
        "entirely right": round(task.entirely_right(baseline, test[2]), 3),
    }
    print("; ".join(f"{k} {v}" for k, v in settings.items()), flush=True)
    return {
        "train": train,
        "test": test,
        "vocabulary": sorted({w for c in train[1] for w in c.split()}),
        "max_length": max(len(c.split()) for c in train[1]),
        "encoder_path": encoder_path,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--encodings",
        nargs="+",
        default=["none", "learned_random_start", "coordinates", "learned"],
        help="values of FeatureToSequence's position_encoding",
    )
    parser.add_argument(
        "--encoders", nargs="+", default=["scratch", "pretrained"]
    )
    parser.add_argument("--decoders", nargs="+", default=["attention"])
    parser.add_argument("--grid", type=int, choices=(2, 3), default=3)
    parser.add_argument("--num-train", type=int, default=2000)
    parser.add_argument("--num-test", type=int, default=500)
    parser.add_argument("--short-epochs", type=int, default=2)
    parser.add_argument("--pretrain-epochs", type=int, default=5)
    parser.add_argument(
        "--results", help="JSON-lines file: append runs, skip finished ones"
    )
    args = parser.parse_args()

    data = make_data(args)
    rows = []
    done = read_results(args.results)
    for seed in args.seeds:
        for encoder in args.encoders:
            for decoder in args.decoders:
                for encoding in args.encodings:
                    key = run_key(args, seed, encoder, decoder, encoding)
                    previous = [
                        r for r in done if {k: r[k] for k in key} == key
                    ]
                    if previous:
                        rows.append(previous[-1])
                        continue
                    row = {**key, "result": run(key, data, args)}
                    rows.append(row)
                    if args.results:
                        with open(args.results, "a") as file:
                            file.write(json.dumps(row) + "\n")
    print_table(rows, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
