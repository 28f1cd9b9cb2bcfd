"""Scores from `pycocoevalcap` and caption strategies shared by the tests.

`pycocoevalcap` is fed the output of `tokenize_caption` joined by spaces,
bypassing its PTB tokenizer (which needs Java), so its numbers and ours are
computed on the same words.
"""

from hypothesis import strategies as st
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge

from keras_captioning.metrics import tokenize_caption

# A small vocabulary makes shared n-grams likely; capitals and punctuation
# check that tokenisation is applied before scoring.
WORDS = (
    "a",
    "A",
    "dog",
    "Dog,",
    "cat",
    "cats.",
    "runs",
    "on",
    "the",
    "grass",
    "red!",
    "man's",
    "t-shirt",
)


def captions(min_words, max_words):
    return st.lists(
        st.sampled_from(WORDS), min_size=min_words, max_size=max_words
    ).map(" ".join)


def corpora(max_images=8, max_references=6, max_words=12):
    """Strategy for `(references, hypotheses)` pairs of any valid shape."""
    hypothesis = st.one_of(captions(0, max_words), st.just("?!"))
    image = st.tuples(
        st.lists(captions(1, max_words), min_size=1, max_size=max_references),
        hypothesis,
    )
    return st.lists(image, min_size=1, max_size=max_images).map(
        lambda images: (
            [references for references, _ in images],
            [hypothesis for _, hypothesis in images],
        )
    )


# Hand-picked corpora for the cases the generated ones may miss.
EDGE_CASES = {
    "empty hypothesis": (
        [["a dog runs on the grass"], ["a cat on a sofa"]],
        ["", "a cat on a sofa"],
    ),
    "punctuation-only hypothesis": (
        [["a dog runs on the grass"], ["a cat on a sofa"]],
        ["?!", "a cat"],
    ),
    "all hypotheses empty": (
        [["a dog runs"], ["a cat on a sofa"]],
        ["", ""],
    ),
    "one-word hypothesis": (
        [["a dog runs on the grass"], ["two cats"]],
        ["dog", "cats"],
    ),
    "hypotheses shorter than four words": (
        [["a dog runs on the grass", "a dog"], ["two cats sleep"]],
        ["a dog", "two cats sleep"],
    ),
    "single image, single reference": (
        [["a dog runs on the grass"]],
        ["a dog runs on grass"],
    ),
    "one reference per image": (
        [["a dog runs"], ["a cat sleeps"], ["a bird flies high"]],
        ["a dog runs fast", "a cat", "birds fly"],
    ),
    "many references": (
        [
            [f"a dog number {i} runs on the grass" for i in range(20)],
            ["a cat", "the cat", "one cat on a red sofa"] * 5,
        ],
        ["a dog runs on the grass", "a cat on a sofa"],
    ),
    "repeated words": (
        [["the dog the dog", "a dog"], ["cat cat cat", "a cat"]],
        ["the the the the the dog", "cat cat cat cat cat cat"],
    ),
    "identical captions": (
        [["a dog runs on the grass"], ["two cats sleep on a sofa"]],
        ["a dog runs on the grass", "two cats sleep on a sofa"],
    ),
    "long captions": (
        [[" ".join(["a red dog runs on the grass"] * 10)], ["a cat"]],
        [" ".join(["a dog runs on grass"] * 12), "a cat"],
    ),
}


def coco_scores(references, hypotheses):
    """BLEU-1..4, CIDEr-D and ROUGE-L from `pycocoevalcap`."""
    gts = {
        image: [" ".join(tokenize_caption(text)) for text in texts]
        for image, texts in enumerate(references)
    }
    res = {
        image: [" ".join(tokenize_caption(text))]
        for image, text in enumerate(hypotheses)
    }
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    rouge, _ = Rouge().compute_score(gts, res)
    return {
        "BLEU": [float(score) for score in bleu],
        "CIDEr-D": float(cider),
        "ROUGE-L": float(rouge),
    }
