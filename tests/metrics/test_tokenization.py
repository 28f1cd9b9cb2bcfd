import hypothesis
import pytest
from hypothesis import strategies as st

from keras_captioning import metrics
from keras_captioning.text import standardize_caption
from tests.text.test_standardize_caption import any_character

EXAMPLES = [
    ("A dog runs.", ["a", "dog", "runs"]),
    ("  Two   DOGS\tplay\n", ["two", "dogs", "play"]),
    ("A man's t-shirt, (red)!", ["a", "mans", "tshirt", "red"]),
    ("Café, 2 cats", ["café", "2", "cats"]),
    ("?!...", []),
    ("“Smart” dog—cat 🐶…", ["smart", "dog", "cat"]),
    ("", []),
]


def test_examples():
    for text, expected in EXAMPLES:
        assert metrics.tokenize_caption(text) == expected, text


def test_rejects_non_strings():
    for text in [None, b"a dog", 3, ["a", "dog"]]:
        with pytest.raises(TypeError, match="`text` must be a str"):
            metrics.tokenize_caption(text)


@hypothesis.given(st.text(any_character()))
def test_is_the_text_standardization(text):
    # Generated captions come from a vocabulary built with the text
    # package's standardisation; scoring must see the same words, lone
    # surrogates included (both refuse them).
    try:
        expected = standardize_caption(text).split()
    except ValueError as error:
        with pytest.raises(ValueError, match="lone surrogate") as raised:
            metrics.tokenize_caption(text)
        assert str(raised.value) == str(error)
        return
    assert metrics.tokenize_caption(text) == expected


WORDS = ["A", "dog", "Dog!", "runs,", "on", "the", "grass.", "man's"]


@hypothesis.settings(deadline=None)
@hypothesis.given(
    st.lists(
        st.tuples(
            st.lists(
                st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(
                    " ".join
                ),
                min_size=1,
                max_size=4,
            ),
            st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_every_metric_tokenizes_before_scoring(images):
    references = [image_references for image_references, _ in images]
    hypotheses = [hypothesis for _, hypothesis in images]

    def tokenized(text):
        return " ".join(metrics.tokenize_caption(text))

    clean_references = [
        [tokenized(text) for text in texts] for texts in references
    ]
    clean_hypotheses = [tokenized(text) for text in hypotheses]
    assert metrics.evaluate_captions(
        references, hypotheses
    ) == metrics.evaluate_captions(clean_references, clean_hypotheses)


@pytest.mark.parametrize(
    "references, hypotheses",
    [([["a dog runs"]], ["a dog\ud800"]), ([["a dog\udc80 runs"]], ["a dog"])],
)
def test_every_metric_refuses_lone_surrogates_clearly(references, hypotheses):
    for metric in (
        metrics.corpus_bleu,
        metrics.cider_d,
        metrics.rouge_l,
        metrics.evaluate_captions,
    ):
        with pytest.raises(ValueError, match="lone surrogate"):
            metric(references, hypotheses)
