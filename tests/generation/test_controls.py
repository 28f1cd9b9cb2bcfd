"""Decoding controls on every sampler: each rule holds on every row.

The toys repeat themselves a lot (a bigram chain with a few strong
transitions), so each rule has something to forbid; a test first checks
that the uncontrolled sampler breaks it for some seed.
"""

import hypothesis
import keras
import numpy as np
import pytest
from hypothesis import strategies as st

from keras_captioning import generation
from tests.generation.toy_decoders import BANNED
from tests.generation.toy_decoders import END
from tests.generation.toy_decoders import MarkovChain
from tests.generation.toy_decoders import ToyRNN
from tests.generation.toy_decoders import caption
from tests.generation.toy_decoders import log_softmax
from tests.generation.toy_decoders import run

VOCABULARY_SIZE, MAX_LENGTH, BATCH = 10, 12, 4
KINDS = ("greedy", "beam", "diverse", "sample")
# Each example runs whole loops (eager on tensorflow and torch): fewer
# examples than the profile's, every rule still sees every sampler.
FEW = hypothesis.settings(max_examples=6)


def make_sampler(kind, **controls):
    if kind == "greedy":
        return generation.GreedySampler(**controls)
    if kind == "beam":
        return generation.BeamSampler(3, return_all_beams=True, **controls)
    if kind == "diverse":
        return generation.BeamSampler(
            4,
            return_all_beams=True,
            num_beam_groups=2,
            diversity_penalty=0.5,
            **controls,
        )
    return generation.RandomSampler(seed=3, **controls)


def captions_of(outputs):
    """Every row's caption (every beam with `return_all_beams`)."""
    token_ids = outputs["token_ids"]
    rows = token_ids.reshape(-1, token_ids.shape[-1])
    scores = outputs["scores"].reshape(-1)
    # Surplus beams (score -inf, all pad) are not captions.
    return [caption(row) for row, s in zip(rows, scores) if np.isfinite(s)]


def words(tokens):
    return [t for t in tokens if t != END]


def ngrams(tokens, n):
    tokens = words(tokens)
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def generate(kind, seed, force_end_token=True, toy_class=MarkovChain, **c):
    toy = toy_class(seed, VOCABULARY_SIZE)
    return run(
        make_sampler(kind, **c),
        toy.step,
        toy.params,
        toy.initial_state(BATCH),
        max_length=MAX_LENGTH,
        force_end_token=force_end_token,
    )


def test_the_toys_break_every_rule_without_controls():
    repeats, short, ending = False, False, False
    for seed in range(6):
        for kind in KINDS:
            for tokens in captions_of(generate(kind, seed)):
                repeats |= len(set(ngrams(tokens, 2))) < len(ngrams(tokens, 2))
                short |= len(words(tokens)) < 3
                ending |= (
                    tokens[-1] == END
                    and len(tokens) >= 2
                    and (tokens[-2] in (4, 5, 6))
                )
    assert repeats and short and ending


@FEW
@hypothesis.given(
    seed=st.integers(0, 2**16),
    kind=st.sampled_from(KINDS),
    size=st.integers(1, 3),
    recurrent=st.booleans(),
)
def test_no_caption_repeats_an_ngram(seed, kind, size, recurrent):
    outputs = generate(
        kind,
        seed,
        toy_class=ToyRNN if recurrent else MarkovChain,
        no_repeat_ngram_size=size,
    )
    for tokens in captions_of(outputs):
        grams = ngrams(tokens, size)
        assert len(set(grams)) == len(grams), (tokens, size)


@FEW
@hypothesis.given(
    seed=st.integers(0, 2**16),
    kind=st.sampled_from(KINDS),
    min_length=st.integers(1, MAX_LENGTH - 1),
    force_end_token=st.booleans(),
)
def test_no_caption_is_shorter_than_min_length(
    seed, kind, min_length, force_end_token
):
    outputs = generate(
        kind, seed, force_end_token=force_end_token, min_length=min_length
    )
    for tokens in captions_of(outputs):
        assert len(words(tokens)) >= min_length, (tokens, min_length)


@FEW
@hypothesis.given(seed=st.integers(0, 2**16), kind=st.sampled_from(KINDS))
def test_bad_words_never_appear(seed, kind):
    outputs = generate(kind, seed, bad_words_ids=[4, [5, 6], [7, 8, 9]])
    for tokens in captions_of(outputs):
        assert 4 not in tokens
        pairs = list(zip(tokens, tokens[1:]))
        assert (5, 6) not in pairs
        assert (7, 8, 9) not in list(zip(tokens, tokens[1:], tokens[2:]))


@FEW
@hypothesis.given(
    seed=st.integers(0, 2**16),
    kind=st.sampled_from(KINDS),
    force_end_token=st.booleans(),
)
def test_no_caption_ends_on_a_bad_ending_before_max_length(
    seed, kind, force_end_token
):
    outputs = generate(
        kind,
        seed,
        force_end_token=force_end_token,
        bad_endings_ids=[4, 5, 6],
    )
    for tokens in captions_of(outputs):
        if tokens[-1] == END and len(tokens) < MAX_LENGTH:
            assert len(tokens) == 1 or tokens[-2] not in (4, 5, 6), tokens


def test_a_caption_reaching_max_length_on_a_bad_ending_is_kept():
    # Only word 4, which is a bad ending: the caption fills the buffer and
    # the forced end token follows it anyway.
    table = np.full((6, 6), -5.0, "float32")
    table[:, 4] = 5.0
    sampler = generation.GreedySampler(bad_endings_ids=[4])
    outputs = run(
        sampler,
        lambda params, token_ids, state: (
            keras.ops.take(params, token_ids, axis=0),
            state,
            None,
        ),
        table,
        np.zeros((2, 1), "float32"),
        max_length=5,
        force_end_token=True,
    )
    assert outputs["token_ids"].tolist() == [[4, 4, 4, 4, END]] * 2


@FEW
@hypothesis.given(
    seed=st.integers(0, 2**16),
    kind=st.sampled_from(KINDS),
)
@hypothesis.example(seed=286, kind="greedy")  # stuck row, found by CI
def test_all_controls_together(seed, kind):
    outputs = generate(
        kind,
        seed,
        toy_class=ToyRNN,
        min_length=2,
        no_repeat_ngram_size=2,
        repetition_penalty=1.5,
        bad_words_ids=[9],
        bad_endings_ids=[4, 5],
    )
    for tokens in captions_of(outputs):
        assert len(words(tokens)) >= 2
        assert 9 not in tokens
        grams = ngrams(tokens, 2)
        assert len(set(grams)) == len(grams)
        if tokens[-1] == END and len(tokens) < MAX_LENGTH:
            if tokens[-2] in (4, 5):
                # A bad ending only where the controls left the row no
                # other token: every allowed word would repeat a bigram,
                # so the caption ends rather than loops (documented).
                last = tokens[-2]
                allowed_words = set(range(4, VOCABULARY_SIZE)) - {9}
                assert all((last, w) in set(grams) for w in allowed_words), (
                    tokens
                )


@FEW
@hypothesis.given(
    seed=st.integers(0, 2**16), penalty=st.sampled_from([1.3, 2.0, 5.0])
)
def test_repetition_penalty_follows_keskar(seed, penalty):
    # Greedy decoding against a NumPy reference of the penalised logits;
    # the scores stay the model's log-probabilities.
    toy = ToyRNN(seed, VOCABULARY_SIZE)
    state = toy.initial_state(BATCH)
    outputs = run(
        generation.GreedySampler(repetition_penalty=penalty),
        toy.step,
        toy.params,
        state,
        max_length=MAX_LENGTH,
        force_end_token=True,
    )
    for row_state, row, score in zip(
        toy.row_states(state), outputs["token_ids"], outputs["scores"]
    ):
        tokens = caption(row)
        for i, token in enumerate(tokens):
            logits = raw_logits(toy, row_state, tokens[:i])
            seen = list(set(tokens[:i]))
            logits[seen] = np.where(
                logits[seen] > 0, logits[seen] / penalty, logits[seen] * penalty
            )
            logits[list(BANNED)] = -np.inf
            if i == MAX_LENGTH - 1:
                assert token == END
                continue
            best = np.sort(logits)[-2:]
            if best[1] - best[0] > 1e-4:  # no near-tie
                assert token == int(np.argmax(logits)), (tokens, i)
        np.testing.assert_allclose(
            score, toy.sequence_log_prob(row_state, tokens), rtol=1e-4
        )


def raw_logits(toy, row_state, prefix):
    """The ToyRNN's logits (not log-probabilities) after `prefix`."""
    hidden = np.asarray(row_state, "float64")
    for token in (1,) + tuple(prefix):
        hidden = np.tanh(
            hidden @ toy.params["recurrent"] + toy.params["embedding"][token]
        )
    return hidden @ toy.params["output"]


@FEW
@hypothesis.given(
    seed=st.integers(0, 2**16),
    top_p=st.sampled_from([0.3, 0.6, 0.9]),
    temperature=st.sampled_from([1.0, 0.7]),
)
def test_every_sampled_token_lies_in_the_nucleus(seed, top_p, temperature):
    toy = ToyRNN(seed, VOCABULARY_SIZE, scale=2.0)
    state = toy.initial_state(BATCH)
    sampler = generation.RandomSampler(
        temperature=temperature, top_p=top_p, seed=seed
    )
    outputs = run(sampler, toy.step, toy.params, state, max_length=MAX_LENGTH)
    for row_state, row in zip(toy.row_states(state), outputs["token_ids"]):
        tokens = caption(row)
        for i, token in enumerate(tokens):
            logits = toy.next_log_probs(row_state, tokens[:i]) / temperature
            logits[list(BANNED)] = -np.inf
            probabilities = np.exp(log_softmax(logits))
            # In the nucleus: the tokens strictly more likely weigh < top_p.
            more_likely = probabilities[probabilities > probabilities[token]]
            assert more_likely.sum() < top_p + 1e-5, (tokens, i)


def test_top_p_narrows_sampling_and_one_is_off():
    toy = ToyRNN(0, VOCABULARY_SIZE, scale=1.0)
    state = toy.initial_state(64)

    def distinct(**options):
        outputs = run(
            generation.RandomSampler(seed=1, **options),
            toy.step,
            toy.params,
            state,
            max_length=MAX_LENGTH,
        )
        return outputs, len({caption(row) for row in outputs["token_ids"]})

    plain, plain_count = distinct()
    full, _ = distinct(top_p=1.0)
    np.testing.assert_array_equal(plain["token_ids"], full["token_ids"])
    _, narrow_count = distinct(top_p=0.2)
    assert narrow_count < plain_count


def test_diverse_groups_start_on_different_tokens():
    toy = ToyRNN(2, VOCABULARY_SIZE)
    state = toy.initial_state(BATCH)
    sampler = generation.BeamSampler(
        4, num_beam_groups=4, diversity_penalty=100.0, return_all_beams=True
    )
    outputs = run(sampler, toy.step, toy.params, state, max_length=6)
    for beams in outputs["token_ids"]:
        assert len({int(beam[0]) for beam in beams}) == 4
    # Without the penalty, four groups of one are four greedy searches.
    same = run(
        generation.BeamSampler(4, num_beam_groups=4, return_all_beams=True),
        toy.step,
        toy.params,
        state,
        max_length=6,
    )
    greedy = run(
        generation.GreedySampler(), toy.step, toy.params, state, max_length=6
    )
    for beams, row in zip(same["token_ids"], greedy["token_ids"]):
        assert all(np.array_equal(beam, row) for beam in beams)


@FEW
@hypothesis.given(seed=st.integers(0, 2**16))
def test_diverse_beam_scores_are_model_log_probabilities(seed):
    toy = ToyRNN(seed, VOCABULARY_SIZE)
    state = toy.initial_state(BATCH)
    sampler = generation.BeamSampler(
        4,
        num_beam_groups=2,
        diversity_penalty=2.0,
        repetition_penalty=1.5,
        return_all_beams=True,
    )
    outputs = run(sampler, toy.step, toy.params, state, max_length=MAX_LENGTH)
    for row_state, beams, scores in zip(
        toy.row_states(state), outputs["token_ids"], outputs["scores"]
    ):
        for beam, score in zip(beams, scores):
            if np.isfinite(score):
                np.testing.assert_allclose(
                    score,
                    toy.sequence_log_prob(row_state, caption(beam)),
                    rtol=1e-4,
                    atol=1e-4,
                )


def test_controls_off_change_nothing():
    toy = ToyRNN(5, VOCABULARY_SIZE)
    state = toy.initial_state(BATCH)
    for kind in ("greedy", "beam", "sample"):
        plain = run(
            make_sampler(kind), toy.step, toy.params, state, max_length=8
        )
        off = run(
            make_sampler(
                kind,
                min_length=0,
                no_repeat_ngram_size=0,
                repetition_penalty=1.0,
                bad_words_ids=[],
                bad_endings_ids=[],
            ),
            toy.step,
            toy.params,
            state,
            max_length=8,
        )
        np.testing.assert_array_equal(plain["token_ids"], off["token_ids"])


# ------------------------------------------------------------ options


@pytest.mark.parametrize("name", ["greedy", "beam", "sample"])
def test_every_strategy_takes_the_controls_and_keeps_them(name):
    sampler = generation.get(
        name,
        min_length=2,
        no_repeat_ngram_size=3,
        repetition_penalty=1.2,
        bad_words_ids=[5, [6, 7]],
        bad_endings_ids=[8, 4],
    )
    config = sampler.get_config()
    assert config["min_length"] == 2
    assert config["no_repeat_ngram_size"] == 3
    assert config["repetition_penalty"] == 1.2
    assert config["bad_words_ids"] == [[5], [6, 7]]
    assert config["bad_endings_ids"] == [4, 8]
    clone = type(sampler).from_config(config)
    assert clone.get_config() == config
    if name != "sample":  # an unseeded sampler keys on its seed state
        assert clone.cache_key() == sampler.cache_key()
    assert sampler.cache_key() != generation.get(name).cache_key()
    assert "no_repeat_ngram_size=3" in repr(sampler)


def test_beam_and_sample_options_are_in_the_config():
    beam = generation.get("beam", beam_width=4, num_beam_groups=2)
    assert beam.get_config()["num_beam_groups"] == 2
    sample = generation.get("sample", top_p=0.8)
    assert sample.get_config()["top_p"] == 0.8


@pytest.mark.parametrize(
    "options, error, words",
    [
        ({"min_length": -1}, ValueError, "min_length"),
        ({"no_repeat_ngram_size": 1.5}, TypeError, "no_repeat_ngram_size"),
        ({"repetition_penalty": 0.5}, ValueError, "repetition_penalty"),
        ({"bad_words_ids": "the"}, TypeError, "bad_words_ids"),
        ({"bad_words_ids": [[]]}, ValueError, "bad_words_ids"),
        ({"bad_words_ids": [-2]}, ValueError, "bad_words_ids"),
        ({"bad_endings_ids": 4}, TypeError, "bad_endings_ids"),
    ],
)
def test_bad_control_options_are_named(options, error, words):
    with pytest.raises(error, match=words):
        generation.GreedySampler(**options)


def test_bad_sampler_specific_options_are_named():
    with pytest.raises(ValueError, match="num_beam_groups.*beam_width"):
        generation.BeamSampler(4, num_beam_groups=3)
    with pytest.raises(ValueError, match="diversity_penalty"):
        generation.BeamSampler(4, diversity_penalty=1.0)
    with pytest.raises(ValueError, match="top_p"):
        generation.RandomSampler(top_p=0.0)
    with pytest.raises(ValueError, match="top_p"):
        generation.RandomSampler(top_p=1.5)


def test_min_length_above_max_length_names_both():
    toy = MarkovChain(0, VOCABULARY_SIZE)
    with pytest.raises(ValueError, match="min_length=8.*max_length=8"):
        generation.GreedySampler(min_length=8)(
            _bound(toy),
            toy.initial_state(1),
            max_length=8,
            force_end_token=True,
        )
    with pytest.raises(ValueError, match="min_length=9.*max_length=8"):
        generation.BeamSampler(min_length=9)(
            _bound(toy), toy.initial_state(1), max_length=8
        )


def test_end_token_and_out_of_range_ids_are_refused():
    toy = MarkovChain(0, VOCABULARY_SIZE)
    with pytest.raises(ValueError, match="bad_words_ids.*end"):
        generation.GreedySampler(bad_words_ids=[END])(
            _bound(toy), toy.initial_state(1), end_token_id=END
        )
    with pytest.raises(ValueError, match="vocabulary size 10"):
        generation.GreedySampler(bad_endings_ids=[10])(
            _bound(toy), toy.initial_state(1)
        )


def _bound(toy):
    return lambda token_ids, state: toy.step(toy.params, token_ids, state)
