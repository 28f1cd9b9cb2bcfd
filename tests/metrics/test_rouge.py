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
    expected = coco_scores(references, hypotheses)["ROUGE-L"]
    assert metrics.rouge_l(references, hypotheses) == pytest.approx(
        expected, abs=TOLERANCE
    )


def test_edge_cases_match_pycocoevalcap():
    for case, (references, hypotheses) in EDGE_CASES.items():
        expected = coco_scores(references, hypotheses)["ROUGE-L"]
        actual = metrics.rouge_l(references, hypotheses)
        assert actual == pytest.approx(expected, abs=TOLERANCE), case


@hypothesis.settings(deadline=None)
@hypothesis.given(
    st.lists(st.sampled_from("abcdef"), min_size=1, max_size=150),
    st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=150),
)
def test_long_captions_match_pycocoevalcap(hypothesis_words, reference_words):
    # The longest common subsequence is computed with bit operations on
    # Python integers; long captions cross any machine word size.
    references = [[" ".join(reference_words)]]
    hypotheses = [" ".join(hypothesis_words)]
    expected = coco_scores(references, hypotheses)["ROUGE-L"]
    assert metrics.rouge_l(references, hypotheses) == pytest.approx(
        expected, abs=TOLERANCE
    )


def test_identical_caption_scores_one():
    score = metrics.rouge_l(
        [["a dog runs on the grass"]], ["A dog runs on the grass!"]
    )
    assert type(score) is float
    assert score == pytest.approx(1.0, abs=1e-12)


def test_empty_hypothesis_scores_zero():
    assert metrics.rouge_l([["a dog"], ["a cat"]], ["", "a cat"]) == 0.5


def test_best_precision_and_recall_may_come_from_different_references():
    # Against "a dog" the hypothesis has precision 2/3, recall 1; against
    # "a big dog runs" precision 1, recall 3/4. COCO combines P=1, R=1.
    score = metrics.rouge_l([["a dog", "a big dog runs"]], ["a big dog"])
    assert score == pytest.approx(1.0, abs=1e-12)


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
    assert metrics.rouge_l(
        shuffled_references, shuffled_hypotheses
    ) == pytest.approx(metrics.rouge_l(references, hypotheses), abs=1e-12)
