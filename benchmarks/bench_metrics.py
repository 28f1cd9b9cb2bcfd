"""Times keras_captioning.metrics against pycocoevalcap and checks they agree.

Scores 5,000 synthetic hypotheses against 5 references each with our
BLEU-1..4, CIDEr-D and ROUGE-L and with pycocoevalcap's `Bleu(4)`, `Cider()`
and `Rouge()`, on the same tokenised captions (pycocoevalcap gets the output
of `tokenize_caption` joined by spaces, bypassing its Java PTB tokenizer).
Prints the seconds each takes (best of `--repeats`), the speed ratios and
the largest absolute difference between the two on that corpus and on a
sweep of small random corpora with edge cases (empty and one-word
hypotheses, repeated words, one or many references).

Run from the repository root:

    python benchmarks/bench_metrics.py
"""

import argparse
import os
import random
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pycocoevalcap.bleu.bleu import Bleu  # noqa: E402
from pycocoevalcap.cider.cider import Cider  # noqa: E402
from pycocoevalcap.rouge.rouge import Rouge  # noqa: E402

from keras_captioning import metrics  # noqa: E402


def synthetic_corpus(num_images, num_references, seed):
    """Captions that share words within an image, like real references."""
    rng = random.Random(seed)
    # A Zipf-like vocabulary: a few frequent words, many rare ones.
    vocabulary = [f"w{index}" for index in range(2000)]
    weights = [1.0 / (rank + 1) for rank in range(len(vocabulary))]
    common = ["a", "the", "on", "of", "with", "in", "and", "is"]

    def caption(topic):
        length = rng.randint(7, 14)
        words = []
        for _ in range(length):
            source = rng.random()
            if source < 0.35:
                words.append(rng.choice(common))
            elif source < 0.8:
                words.append(rng.choice(topic))
            else:
                words.append(rng.choices(vocabulary, weights)[0])
        # Capitals and punctuation exercise the tokenisation step.
        return " ".join(words).capitalize() + rng.choice([".", "", "!"])

    references, hypotheses = [], []
    for _ in range(num_images):
        topic = rng.choices(vocabulary, weights, k=6)
        references.append([caption(topic) for _ in range(num_references)])
        hypotheses.append(caption(topic))
    return references, hypotheses


def small_corpora(count, seed):
    """Small random corpora biased towards the edge cases."""
    rng = random.Random(seed)
    words = ["a", "dog", "Dog,", "cat", "runs", "on", "the", "grass", "red!"]
    corpora = []
    for _ in range(count):
        references, hypotheses = [], []
        for _ in range(rng.randint(1, 8)):
            references.append(
                [
                    " ".join(rng.choices(words, k=rng.randint(1, 12)))
                    for _ in range(rng.choice([1, 1, 2, 5, 20]))
                ]
            )
            hypotheses.append(
                " ".join(rng.choices(words, k=rng.choice([0, 1, 2, 3, 8])))
            )
        corpora.append((references, hypotheses))
    return corpora


def coco_inputs(references, hypotheses):
    def tokenized(text):
        return " ".join(metrics.tokenize_caption(text))

    gts = {
        image: [tokenized(text) for text in texts]
        for image, texts in enumerate(references)
    }
    res = {image: [tokenized(text)] for image, text in enumerate(hypotheses)}
    return gts, res


def coco_scores(gts, res):
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    return {
        "BLEU": [float(value) for value in bleu],
        "CIDEr-D": float(Cider().compute_score(gts, res)[0]),
        "ROUGE-L": float(Rouge().compute_score(gts, res)[0]),
    }


def differences(ours, theirs):
    return {
        "BLEU": max(
            abs(a - b)
            for a, b in zip(ours["BLEU"], theirs["BLEU"], strict=True)
        ),
        "CIDEr-D": abs(ours["CIDEr-D"] - theirs["CIDEr-D"]),
        "ROUGE-L": abs(ours["ROUGE-L"] - theirs["ROUGE-L"]),
    }


def best_time(function, repeats):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--references", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sweep", type=int, default=300)
    args = parser.parse_args()

    references, hypotheses = synthetic_corpus(
        args.images, args.references, seed=0
    )
    gts, res = coco_inputs(references, hypotheses)
    print(
        f"{args.images} hypotheses x {args.references} references, "
        f"best of {args.repeats} runs (seconds)"
    )
    timings = {}
    rows = [
        (
            "BLEU-1..4",
            lambda: metrics.corpus_bleu(references, hypotheses),
            lambda: Bleu(4).compute_score(gts, res, verbose=0)[0],
        ),
        (
            "CIDEr-D",
            lambda: metrics.cider_d(references, hypotheses),
            lambda: Cider().compute_score(gts, res)[0],
        ),
        (
            "ROUGE-L",
            lambda: metrics.rouge_l(references, hypotheses),
            lambda: Rouge().compute_score(gts, res)[0],
        ),
    ]
    print(f"{'metric':<20}{'ours':>10}{'pycocoevalcap':>16}{'speed-up':>10}")
    for name, ours, theirs in rows:
        our_time, _ = best_time(ours, args.repeats)
        their_time, _ = best_time(theirs, args.repeats)
        timings[name] = (our_time, their_time)
        print(
            f"{name:<20}{our_time:>10.3f}{their_time:>16.3f}"
            f"{their_time / our_time:>9.2f}x"
        )
    total_ours = sum(ours for ours, _ in timings.values())
    total_theirs = sum(theirs for _, theirs in timings.values())
    print(
        f"{'sum of the three':<20}{total_ours:>10.3f}{total_theirs:>16.3f}"
        f"{total_theirs / total_ours:>9.2f}x"
    )
    together, scores = best_time(
        lambda: metrics.evaluate_captions(references, hypotheses),
        args.repeats,
    )
    print(
        f"{'evaluate_captions':<20}{together:>10.3f}"
        f"{'':>16}{total_theirs / together:>9.2f}x"
    )
    print(
        "(ours includes checking and tokenising the raw captions; "
        "pycocoevalcap gets them tokenised)"
    )

    ours = {
        "BLEU": [scores[f"BLEU-{order}"] for order in range(1, 5)],
        "CIDEr-D": scores["CIDEr-D"],
        "ROUGE-L": scores["ROUGE-L"],
    }
    theirs = coco_scores(gts, res)
    print("\nscores (ours / pycocoevalcap):")
    for name in ("BLEU", "CIDEr-D", "ROUGE-L"):
        print(f"  {name:<8} {ours[name]} / {theirs[name]}")
    largest = differences(ours, theirs)

    sweep = {name: 0.0 for name in largest}
    for corpus_references, corpus_hypotheses in small_corpora(
        args.sweep, seed=1
    ):
        corpus_scores = metrics.evaluate_captions(
            corpus_references, corpus_hypotheses
        )
        corpus_ours = {
            "BLEU": [corpus_scores[f"BLEU-{order}"] for order in range(1, 5)],
            "CIDEr-D": corpus_scores["CIDEr-D"],
            "ROUGE-L": corpus_scores["ROUGE-L"],
        }
        corpus_theirs = coco_scores(
            *coco_inputs(corpus_references, corpus_hypotheses)
        )
        for name, value in differences(corpus_ours, corpus_theirs).items():
            sweep[name] = max(sweep[name], value)

    print("\nlargest absolute difference, ours vs pycocoevalcap:")
    print(f"{'metric':<10}{'large corpus':>14}{f'{args.sweep} small':>14}")
    for name in largest:
        print(f"{name:<10}{largest[name]:>14.3e}{sweep[name]:>14.3e}")


if __name__ == "__main__":
    main()
