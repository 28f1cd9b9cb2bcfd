import hypothesis
import pytest
from hypothesis import strategies as st

from keras_captioning import metrics
from tests.metrics._pycocoevalcap_reference import EDGE_CASES
from tests.metrics._pycocoevalcap_reference import coco_scores
from tests.metrics._pycocoevalcap_reference import corpora

TOLERANCE = 1e-6


@hypothesis.settings(deadline=None)
@hypothesis.given(corpora())
def test_matches_pycocoevalcap(corpus):
    references, hypotheses = corpus
    expected = coco_scores(references, hypotheses)["CIDEr-D"]
    assert metrics.cider_d(references, hypotheses) == pytest.approx(
        expected, abs=TOLERANCE
    )


def test_edge_cases_match_pycocoevalcap():
    for case, (references, hypotheses) in EDGE_CASES.items():
        expected = coco_scores(references, hypotheses)["CIDEr-D"]
        actual = metrics.cider_d(references, hypotheses)
        assert actual == pytest.approx(expected, abs=TOLERANCE), case


def test_perfect_distinct_captions_score_ten():
    # Each image's n-grams occur in no other image, every cosine is 1 and
    # there is no length penalty: 10 x 1.
    references = [["a dog runs fast"], ["two cats sleep here"]]
    hypotheses = ["A dog runs fast.", "two cats sleep here"]
    score = metrics.cider_d(references, hypotheses)
    assert type(score) is float
    assert score == pytest.approx(10.0, abs=1e-9)


def test_orders_longer_than_the_captions_score_zero():
    # Three-word captions have no 4-gram: that order adds 0 to the mean.
    references = [["a dog runs"], ["two cats sleep"]]
    score = metrics.cider_d(references, ["a dog runs", "two cats sleep"])
    assert score == pytest.approx(7.5, abs=1e-9)


def test_single_image_scores_zero():
    # With one image every n-gram of the references is in all images, so
    # its inverse document frequency, and the score, is zero.
    assert metrics.cider_d([["a dog runs"]], ["a dog runs"]) == 0.0


def test_words_in_every_image_references_carry_no_weight():
    # Document frequencies come from the references of the evaluated set:
    # "a" is in both images' references, so matching it earns nothing.
    references = [["a dog runs fast"], ["a cat sleeps here"]]
    assert metrics.cider_d(references, ["a", "a"]) == 0.0
    assert metrics.cider_d(references, ["dog", "cat"]) > 0.0


def test_empty_hypothesis_scores_zero():
    references = [["a dog runs"], ["two cats sleep"]]
    assert metrics.cider_d(references, ["", "?!"]) == 0.0


@hypothesis.settings(deadline=None)
@hypothesis.given(corpora(), st.randoms(use_true_random=False))
def test_image_and_reference_order_do_not_matter(corpus, random):
    references, hypotheses = corpus
    order = list(range(len(hypotheses)))
    random.shuffle(order)
    shuffled_references = [
        random.sample(references[i], len(references[i])) for i in order
    ]
    shuffled_hypotheses = [hypotheses[i] for i in order]
    assert metrics.cider_d(
        shuffled_references, shuffled_hypotheses
    ) == pytest.approx(metrics.cider_d(references, hypotheses), abs=1e-9)
