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
epoch: minutes on two CPU cores); `--quick` is a smoke run.
"""

import argparse
import math
import pathlib
import sys
import time

import keras

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-train", type=int, default=1000)
    parser.add_argument("--num-test", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.num_train, args.num_test = 64, 32
    keras.utils.set_random_seed(args.seed)
    start = time.perf_counter()
    train_images, train_references = train_shapes.load_split(
        "train", args.num_train, 48, args.seed, blind=False
    )
    test_images, test_references, test_scenes = train_shapes.load_split(
        "test", args.num_test, 48, args.seed, blind=False, scenes=True
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
            seed=args.seed,
        ),
        epochs=args.epochs,
        shuffle=False,
        verbose=0,
    )
    trained = time.perf_counter() - start
    print(
        f"backend {keras.backend.backend()}; attention captioner of "
        f"examples/train_shapes.py trained on {args.num_train} images x 5 "
        f"captions for {args.epochs} epoch(s) ({trained:.0f} s); test split "
        f"{args.num_test} images, seed {args.seed}; captions of at most "
        f"{max_length + 1} words (train_shapes.py's evaluation)"
    )

    header = (
        f"{'decoding':<10} {'controls':<38} {'rep. word':>9} "
        f"{'rep. bigram':>11} {'bad end':>8} {'CIDEr-D':>8} {'obj F1':>7}"
    )
    print()
    print(header)
    print("-" * len(header))

    def print_row(name, controls, captions, references):
        word, bigram, ending = shares(captions)
        scores = keras_captioning.metrics.evaluate_captions(
            references, captions
        )
        content = shapes.score_content(captions, test_scenes)
        print(
            f"{name:<10} {controls:<38} {word:>9.1%} {bigram:>11.1%} "
            f"{ending:>8.1%} {scores['CIDEr-D']:>8.3f} "
            f"{content['object_f1']:>7.3f}",
            flush=True,
        )

    # The references themselves: the first against the other four.
    print_row(
        "reference",
        "(first reference vs the other four)",
        [captions[0] for captions in test_references],
        [captions[1:] for captions in test_references],
    )
    for strategy_name, strategy_options in STRATEGIES:
        strategy = strategy_name.split()[0]
        for controls_name, controls in ROWS:
            token_ids = captioner.generate(
                test_images,
                strategy=strategy,
                max_length=max_length + 1,
                batch_size=100,
                **strategy_options,
                **controls,
            )
            print_row(
                strategy_name,
                controls_name,
                captioner.detokenize(token_ids),
                test_references,
            )
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
