import math

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
    expected = coco_scores(references, hypotheses)["BLEU"]
    assert metrics.corpus_bleu(references, hypotheses) == pytest.approx(
        expected, abs=TOLERANCE
    )


def test_edge_cases_match_pycocoevalcap():
    for case, (references, hypotheses) in EDGE_CASES.items():
        expected = coco_scores(references, hypotheses)["BLEU"]
        actual = metrics.corpus_bleu(references, hypotheses)
        assert actual == pytest.approx(expected, abs=TOLERANCE), case


def test_returns_four_python_floats():
    scores = metrics.corpus_bleu([["a dog runs"]], ["a dog"])
    assert len(scores) == 4
    assert all(type(score) is float for score in scores)


def test_identical_caption_scores_one():
    scores = metrics.corpus_bleu(
        [["a dog runs on the grass"]], ["A dog runs on the grass."]
    )
    assert scores == pytest.approx([1.0] * 4, abs=1e-9)


def test_clips_repeated_words_to_reference_count():
    # "the" appears once in the reference, so only one of four counts.
    scores = metrics.corpus_bleu([["the cat"]], ["the the the the"])
    assert scores[0] == pytest.approx(0.25, abs=1e-9)


def test_brevity_penalty_uses_closest_reference_shorter_on_tie():
    # References of 3 and 5 words are both 1 word from the 4-word hypothesis:
    # COCO picks the shorter one, so there is no brevity penalty.
    references = [["a dog runs", "a dog runs on grass"]]
    scores = metrics.corpus_bleu(references, ["a dog runs fast"])
    assert scores[0] == pytest.approx(0.75, abs=1e-9)


def test_brevity_penalty_applies_to_short_corpus():
    scores = metrics.corpus_bleu([["a dog runs on the grass"]], ["a dog"])
    assert scores[0] == pytest.approx(math.exp(1 - 6 / 2), abs=1e-9)


def test_orders_without_match_keep_coco_smoothing():
    # A perfect two-word caption has no 3- or 4-gram: COCO's smoothing gives
    # each missing order a precision of 1e-15 / 1e-9, not 0 or 1.
    scores = metrics.corpus_bleu([["a dog"]], ["a dog"])
    assert scores[3] == pytest.approx((1e-6 * 1e-6) ** 0.25, rel=1e-6)


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
    assert metrics.corpus_bleu(
        shuffled_references, shuffled_hypotheses
    ) == pytest.approx(metrics.corpus_bleu(references, hypotheses), abs=1e-12)
