import random

import hypothesis
import pytest
from hypothesis import strategies as st

from keras_captioning.text import SPECIAL_TOKENS
from keras_captioning.text import build_vocabulary

CAPTIONS = [
    ["A dog runs.", "The dog plays"],
    ["A cat sleeps", "a CAT, sleeping"],
    "Zebra grazes",
]


def test_orders_by_count_then_alphabetically():
    vocabulary = build_vocabulary(CAPTIONS)
    assert vocabulary[:4] == list(SPECIAL_TOKENS)
    # a: 3, cat: 2, dog: 2, sleeps/plays/...: 1, ties alphabetical.
    assert vocabulary[4:] == [
        "a",
        "cat",
        "dog",
        "grazes",
        "plays",
        "runs",
        "sleeping",
        "sleeps",
        "the",
        "zebra",
    ]


def test_min_count_keeps_words_at_threshold():
    assert build_vocabulary(CAPTIONS, min_count=2)[4:] == ["a", "cat", "dog"]
    assert build_vocabulary(CAPTIONS, min_count=3)[4:] == ["a"]


def test_max_size_counts_special_tokens():
    vocabulary = build_vocabulary(CAPTIONS, max_size=6)
    assert vocabulary == list(SPECIAL_TOKENS) + ["a", "cat"]


def test_reads_a_generator_once():
    captions = (caption for caption in ["b a", "a"])
    assert build_vocabulary(captions)[4:] == ["a", "b"]


words = st.sampled_from(["a", "b", "c", "dog", "cat", "the", "on"])
captions_strategy = st.lists(
    st.lists(words, min_size=1, max_size=6).map(" ".join),
    min_size=1,
    max_size=20,
)


@hypothesis.settings(deadline=None)
@hypothesis.given(
    captions_strategy,
    st.integers(1, 3),
    st.one_of(st.none(), st.integers(5, 10)),
    st.randoms(use_true_random=False),
)
def test_properties(captions, min_count, max_size, rng):
    counts = {}
    for caption in captions:
        for word in caption.split():
            counts[word] = counts.get(word, 0) + 1
    hypothesis.assume(max(counts.values()) >= min_count)

    vocabulary = build_vocabulary(captions, min_count, max_size)
    shuffled = list(captions)
    rng.shuffle(shuffled)
    # Caption order does not matter: the result is deterministic.
    assert build_vocabulary(shuffled, min_count, max_size) == vocabulary

    assert vocabulary[:4] == list(SPECIAL_TOKENS)
    kept = vocabulary[4:]
    assert len(set(kept)) == len(kept)
    assert all(counts[word] >= min_count for word in kept)
    assert kept == sorted(kept, key=lambda word: (-counts[word], word))
    eligible = [word for word in counts if counts[word] >= min_count]
    if max_size is None:
        assert sorted(kept) == sorted(eligible)
    else:
        assert len(vocabulary) == min(max_size, 4 + len(eligible))


def test_shuffled_input_same_vocabulary():
    captions = [f"w{i % 7} w{i % 3} x" for i in range(50)]
    shuffled = list(captions)
    random.Random(0).shuffle(shuffled)
    assert build_vocabulary(captions) == build_vocabulary(shuffled)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"captions": "a dog"}, TypeError, "not a single string"),
        ({"captions": 3}, TypeError, "must be an iterable"),
        ({"captions": [3]}, TypeError, r"captions\[0\]=3"),
        ({"captions": [["a", 3]]}, TypeError, r"captions\[0\]: 3"),
        ({"captions": []}, ValueError, "holds no caption"),
        ({"captions": ["a"], "min_count": 0}, ValueError, "min_count"),
        ({"captions": ["a"], "min_count": 1.5}, TypeError, "min_count"),
        ({"captions": ["a"], "max_size": 4}, ValueError, "max_size=4"),
        ({"captions": ["a"], "max_size": "9"}, TypeError, "max_size"),
        ({"captions": ["a b"], "min_count": 2}, ValueError, "min_count=2"),
    ],
)
def test_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        build_vocabulary(**kwargs)


def test_unicode_punctuation_and_emoji_are_not_words():
    vocabulary = build_vocabulary(["“Smart” dog—cat 🐶🐶…", "don’t « stop »"])
    assert vocabulary[4:] == ["cat", "dog", "dont", "smart", "stop"]


def test_lone_surrogates_are_refused_naming_the_item():
    with pytest.raises(ValueError, match=r"`captions\[1\]` must be text"):
        build_vocabulary(["a dog", ["a cat", "a \ud800"]])
