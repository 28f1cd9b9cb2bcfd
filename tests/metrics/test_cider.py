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


# ------------------------------------------------- per-caption CiderD


@hypothesis.settings(deadline=None, max_examples=30)
@hypothesis.given(corpora())
def test_per_caption_scores_average_to_cider_d_with_own_frequencies(corpus):
    references, hypotheses = corpus
    scores = metrics.CiderD(references)(hypotheses, references)
    assert scores.shape == (len(hypotheses),)
    assert scores.mean() == pytest.approx(
        metrics.cider_d(references, hypotheses), abs=1e-12
    )


def test_per_caption_scores_match_pycocoevalcap_means():
    for case, (references, hypotheses) in EDGE_CASES.items():
        scores = metrics.CiderD(references)(hypotheses, references)
        expected = coco_scores(references, hypotheses)["CIDEr-D"]
        assert scores.mean() == pytest.approx(expected, abs=TOLERANCE), case


def test_one_image_scores_with_fixed_frequencies():
    training = [
        ["a dog runs on the grass", "a brown dog running"],
        ["two cats sleep on a sofa", "cats sleeping on a couch"],
        ["a man rides a bike", "a person riding a bicycle"],
    ]
    scorer = metrics.CiderD(training)
    references = [["a dog runs on the grass", "a brown dog running"]]
    # cider_d takes frequencies from the one image: every weight is zero.
    assert metrics.cider_d(references, ["a dog runs on the grass"]) == 0.0
    (alone,) = scorer(["a dog runs on the grass"], references)
    assert alone > 1.0
    # A score does not depend on the other captions of the call.
    together = scorer(
        ["a dog runs on the grass", "two cats"],
        references + [training[1]],
    )
    assert together[0] == alone
    # Words the training corpus never saw get the largest weight, log(3).
    (unseen,) = scorer(["zebra"], [["zebra"]])
    assert unseen == pytest.approx(10.0 / 4)


def test_the_same_image_may_be_scored_several_times():
    training = [["a red circle", "a circle in red"], ["a blue square"]]
    scorer = metrics.CiderD(training)
    hypotheses = ["a red circle", "a blue square", "a red circle"]
    scores = scorer(hypotheses, [training[0], training[0], training[0]])
    assert scores[0] == scores[2] > scores[1]


def test_cider_d_scorer_rejects_bad_input():
    with pytest.raises(TypeError, match="references"):
        metrics.CiderD("a dog")
    scorer = metrics.CiderD([["a dog"]])
    with pytest.raises(ValueError, match="same length"):
        scorer(["a dog", "a cat"], [["a dog"]])
