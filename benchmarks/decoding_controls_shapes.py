"""The decoding controls on the shapes test split: what each one changes.

Trains the captioner of `examples/train_shapes.py` (same model, optimizer
and cosine schedule) on a deliberately small budget, so that it still makes
the mistakes the controls are for, then captions the held-out test split
with greedy and beam search (width 3), without and with each control, and
prints, per row, the share of captions with a repeated word, with a
repeated bigram, ending on a bad ending (a word of
`keras_captioning.generation.DEFAULT_BAD_ENDINGS`), and CIDEr-D and object
F1 (`keras_captioning.datasets.shapes.score_content`). The first row
scores the test references themselves (each reference against the other
four): shapes captions repeat "a" and "the" legitimately.

    KERAS_BACKEND=tensorflow python benchmarks/decoding_controls_shapes.py

`--num-train` and `--epochs` set the budget (defaults: 1,000 images, one
epoch: minutes on two CPU cores). `--seeds` trains one model per seed
(default 0 1 2) and the table gives the mean and standard deviation over
them; each seed also trains a blind model (the same budget on blank
images), whose greedy captions of the real test images show what a model
that never looks scores. `--quick` is a smoke run.
"""

import argparse
import math
import pathlib
import sys
import time

import keras
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))

import train_shapes  # noqa: E402

import keras_captioning  # noqa: E402
from keras_captioning.datasets import shapes  # noqa: E402

ROWS = [
    ("none", {}),
    ("no_repeat_ngram_size=2", {"no_repeat_ngram_size": 2}),
    ("no_repeat_ngram_size=3", {"no_repeat_ngram_size": 3}),
    ("repetition_penalty=1.3", {"repetition_penalty": 1.3}),
    ("bad_endings=True", {"bad_endings": True}),
    ("min_length=6", {"min_length": 6}),
    (
        "no_repeat_ngram_size=3 + bad_endings",
        {"no_repeat_ngram_size": 3, "bad_endings": True},
    ),
]
STRATEGIES = [("greedy", {}), ("beam k=3", {"beam_width": 3})]


def shares(captions):
    """Shares of captions with a repeated word, bigram, and a bad ending."""
    endings = set(keras_captioning.generation.DEFAULT_BAD_ENDINGS)
    word, bigram, ending = 0, 0, 0
    for caption in captions:
        words = caption.split()
        pairs = list(zip(words, words[1:]))
        word += len(set(words)) < len(words)
        bigram += len(set(pairs)) < len(pairs)
        ending += bool(words) and words[-1] in endings
    count = max(len(captions), 1)
    return word / count, bigram / count, ending / count


def train(args, seed, blind):
    """The small-budget attention captioner, on blank images if `blind`."""
    keras.utils.set_random_seed(seed)
    train_images, train_references = train_shapes.load_split(
        "train", args.num_train, 48, seed, blind=blind
    )
    vocabulary = keras_captioning.text.build_vocabulary(train_references)
    max_length = max(
        len(c.split()) for captions in train_references for c in captions
    )
    captioner = train_shapes.build_captioner(
        vocabulary, max_length, "attention"
    )
    rows = sum(len(c) for c in train_references)
    steps = args.epochs * math.ceil(rows / 64)
    captioner.compile(
        optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(3e-3, steps, alpha=0.05),
            clipnorm=5.0,
        )
    )
    captioner.fit(
        keras_captioning.data.make_dataset(
            train_images,
            train_references,
            captioner.tokenizer,
            batch_size=64,
            reference_mode="all",
            seed=seed,
        ),
        epochs=args.epochs,
        shuffle=False,
        verbose=0,
    )
    return captioner, max_length


def scores_of(captions, references, scenes):
    word, bigram, ending = shares(captions)
    cider = keras_captioning.metrics.evaluate_captions(references, captions)
    content = shapes.score_content(captions, scenes)
    return [word, bigram, ending, cider["CIDEr-D"], content["object_f1"]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-train", type=int, default=1000)
    parser.add_argument("--num-test", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="one model (and one blind model) per seed; the table shows "
        "the mean and, with several seeds, the standard deviation",
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.num_train, args.num_test, args.seeds = 64, 32, args.seeds[:1]
    start = time.perf_counter()
    # The test split is the same for every seed: seeds vary the model.
    test_images, test_references, test_scenes = train_shapes.load_split(
        "test", args.num_test, 48, 0, blind=False, scenes=True
    )
    table = {}  # (decoding, controls) -> one list of scores per seed

    def add(name, controls, captions, references=test_references):
        table.setdefault((name, controls), []).append(
            scores_of(captions, references, test_scenes)
        )

    add(
        "reference",
        "(first reference vs the other four)",
        [captions[0] for captions in test_references],
        [captions[1:] for captions in test_references],
    )
    for seed in args.seeds:
        seed_start = time.perf_counter()
        captioner, max_length = train(args, seed, blind=False)
        trained = time.perf_counter() - seed_start
        for strategy_name, strategy_options in STRATEGIES:
            for controls_name, controls in ROWS:
                token_ids = captioner.generate(
                    test_images,
                    strategy=strategy_name.split()[0],
                    max_length=max_length + 1,
                    batch_size=100,
                    **strategy_options,
                    **controls,
                )
                add(
                    strategy_name,
                    controls_name,
                    captioner.detokenize(token_ids),
                )
        # What the captions score without looking: trained on blank images
        # with the same budget, captioning the real test images.
        blind, _ = train(args, seed, blind=True)
        add(
            "blind",
            "none (trained on blank images), greedy",
            blind.caption(test_images, max_length=max_length + 1),
        )
        print(
            f"seed {seed}: trained in {trained:.0f} s, "
            f"{time.perf_counter() - seed_start:.0f} s with its blind model "
            "and captions",
            flush=True,
        )
    print(
        f"backend {keras.backend.backend()}; attention captioner of "
        f"examples/train_shapes.py trained on {args.num_train} images x 5 "
        f"captions for {args.epochs} epoch(s); test split {args.num_test} "
        f"images; seeds {args.seeds}; captions of at most {max_length + 1} "
        "words (train_shapes.py's evaluation); mean (sd) over seeds"
    )
    header = (
        f"{'decoding':<10} {'controls':<40} {'rep. word':>12} "
        f"{'rep. bigram':>12} {'bad end':>12} {'CIDEr-D':>13} {'obj F1':>13}"
    )
    print()
    print(header)
    print("-" * len(header))
    for (name, controls), runs in table.items():
        runs = np.asarray(runs)
        cells = []
        for column, (mean, sd) in enumerate(
            zip(runs.mean(axis=0), runs.std(axis=0, ddof=min(1, len(runs) - 1)))
        ):
            width = 12 if column < 3 else 13
            if column < 3:
                text = f"{mean:.1%}" + (f" ({sd:.1%})" if len(runs) > 1 else "")
            else:
                text = f"{mean:.3f}" + (f" ({sd:.3f})" if len(runs) > 1 else "")
            cells.append(f"{text:>{width}}")
        print(f"{name:<10} {controls:<40} " + " ".join(cells), flush=True)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
