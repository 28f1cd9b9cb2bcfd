"""The decoding controls through `ImageCaptioner.generate` / `caption`.

An untrained captioner (random weights repeat words a lot) and a small
trained one, for greedy, beam and sampling: each rule holds on every
caption, and `top_p` sampling stays in the nucleus of the model's own
(teacher-forced) distribution.
"""

import keras
import numpy as np
import pytest

from keras_captioning import generation
from keras_captioning.models import ImageCaptioner
from keras_captioning.models import SimpleCNN

COLOURS = [(230, 30, 30), (30, 200, 30), (30, 30, 230), (230, 230, 30)]
CAPTIONS = [
    "a red square on the left",
    "a green circle in the middle",
    "two blue shapes and a circle",
    "a yellow square on a circle",
]
VOCABULARY = sorted({w for c in CAPTIONS for w in c.split()}) + [
    "of",
    "with",
]
MAX_LENGTH = 8
STRATEGIES = {
    "greedy": {},
    "beam": {"beam_width": 3, "return_all_beams": True},
    "sample": {"seed": 4},
}


def images(size=16, seed=0, repeats=1):
    rng = np.random.default_rng(seed)
    pixels = np.stack(
        [np.broadcast_to(c, (size, size, 3)) for c in COLOURS * repeats]
    ).astype("float32")
    return np.clip(pixels + rng.normal(0, 8, pixels.shape), 0, 255).astype(
        "uint8"
    )


def make_captioner():
    """Generation without XLA (tests/captioners.py says why)."""
    keras.utils.set_random_seed(2)
    captioner = ImageCaptioner(
        VOCABULARY,
        encoder=SimpleCNN(filters=(8,), name="encoder"),
        feature_to_sequence={"units": 8},
        decoder={"embedding_dim": 8, "units": 16},
        max_length=MAX_LENGTH,
        image_size=(16, 16),
    )
    captioner.compile(jit_compile=False)
    return captioner


@pytest.fixture(scope="module")
def captioners():
    untrained = make_captioner()
    trained = make_captioner()
    trained.compile(optimizer=keras.optimizers.Adam(0.02), jit_compile=False)
    trained.fit(
        images(repeats=8),
        trained.tokenize(CAPTIONS * 8),
        epochs=15,
        batch_size=16,
        verbose=0,
    )
    return {"untrained": untrained, "trained": trained}


def caption_words(captioner, strategy, **options):
    """Every caption as a list of words (every beam for beam search)."""
    test_images = images(seed=1, repeats=3)
    captions = captioner.caption(
        test_images, strategy=strategy, **STRATEGIES[strategy], **options
    )
    if strategy == "beam":
        captions = [c for beams in captions for c in beams]
    return [c.split() for c in captions]


def ngrams(words, n):
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def test_the_untrained_captioner_repeats_words(captioners):
    # The rules have something to forbid: random weights repeat words
    # (which strategy shows it depends on the backend's initialisation).
    assert any(
        len(set(words)) < len(words)
        for strategy in STRATEGIES
        for words in caption_words(captioners["untrained"], strategy)
    )


# The trained captioner by default (its captions end and vary); the
# untrained one, which repeats words, with --run_large.
WHICH = ["trained", pytest.param("untrained", marks=pytest.mark.large)]


@pytest.mark.parametrize("which", WHICH)
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_control_holds_on_every_caption(captioners, which, strategy):
    captioner = captioners[which]
    for words in caption_words(captioner, strategy, no_repeat_ngram_size=1):
        assert len(set(words)) == len(words), words
    # The other controls together (one compiled function, not four).
    endings = [w for w in generation.DEFAULT_BAD_ENDINGS if w in VOCABULARY]
    assert {"a", "the", "on", "in", "and", "of", "with"} <= set(endings)
    for words in caption_words(
        captioner,
        strategy,
        no_repeat_ngram_size=2,
        min_length=5,
        bad_words=["circle", "on the"],
        bad_endings=True,
    ):
        assert len(set(ngrams(words, 2))) == len(ngrams(words, 2)), words
        assert len(words) >= 5, words
        assert "circle" not in words
        assert ("on", "the") not in ngrams(words, 2)
        if len(words) < MAX_LENGTH:
            assert words[-1] not in endings, words


@pytest.mark.parametrize("which", WHICH)
@pytest.mark.parametrize("top_p", [0.5, 0.9])
def test_top_p_samples_lie_in_the_teacher_forced_nucleus(
    captioners, which, top_p
):
    captioner = captioners[which]
    test_images = images(seed=2, repeats=4)
    token_ids = captioner.generate(
        test_images, strategy="sample", top_p=top_p, seed=7
    )
    tokenizer = captioner.tokenizer
    inputs = np.concatenate(
        [np.full((len(token_ids), 1), tokenizer.start_id), token_ids[:, :-1]],
        axis=1,
    ).astype("int32")
    logits = keras.ops.convert_to_numpy(
        captioner(
            {"images": test_images.astype("float32"), "token_ids": inputs}
        )
    ).astype("float64")
    banned = [tokenizer.pad_id, tokenizer.start_id, tokenizer.unknown_id]
    checked = 0
    for row, row_logits in zip(token_ids, logits):
        for step, token in enumerate(row.tolist()):
            step_logits = row_logits[step].copy()
            step_logits[banned] = -np.inf
            if step == len(row) - 1:  # the forced end token
                break
            probabilities = np.exp(step_logits - step_logits.max())
            probabilities /= probabilities.sum()
            more_likely = probabilities[probabilities > probabilities[token]]
            assert more_likely.sum() < top_p + 1e-4, (row, step)
            checked += 1
            if token == tokenizer.end_id:
                break
    assert checked > len(token_ids)


def test_controls_combine_with_diverse_beams_and_scores(captioners):
    captioner = captioners["trained"]
    # "circle" ends two of the captions the model was trained on, so without
    # the control some beams would end on it.
    bad_endings = ["a", "the", "circle"]
    outputs = captioner.generate(
        images(seed=3),
        strategy="beam",
        beam_width=4,
        num_beam_groups=2,
        diversity_penalty=1.0,
        no_repeat_ngram_size=2,
        bad_endings=bad_endings,
        return_all_beams=True,
        return_scores=True,
    )
    assert outputs["token_ids"].shape == (4, 4, MAX_LENGTH + 1)
    for beams in outputs["token_ids"]:
        for words in captioner.detokenize(beams):
            words = words.split()
            assert len(set(ngrams(words, 2))) == len(ngrams(words, 2))
            # A caption ends on a bad ending only when it reaches
            # `max_length` there (docs/generation.rst).
            if 0 < len(words) < MAX_LENGTH:
                assert words[-1] not in bad_endings, words
    # One log-probability per beam, best first (the ranking uses the
    # log-probabilities alone, without the diversity penalty).
    scores = outputs["scores"]
    assert scores.shape == (4, 4)
    assert np.all(np.isfinite(scores))
    assert np.all(scores <= 0.0)
    assert np.all(np.diff(scores, axis=1) <= 0.0)


def test_word_options_are_checked(captioners):
    captioner = captioners["untrained"]
    with pytest.raises(ValueError, match=r"\['dragon', 'zebra'\]"):
        captioner.caption(images(), bad_words=["zebra", "red", "dragon"])
    with pytest.raises(ValueError, match="bad_endings.*vocabulary"):
        captioner.caption(images(), bad_endings=["unicorn"])
    with pytest.raises(TypeError, match="bad_words"):
        captioner.caption(images(), bad_words="red")
    with pytest.raises(ValueError, match="min_length=9.*max_length=8"):
        captioner.caption(images(), min_length=9)
    with pytest.raises(ValueError, match="min_length=5.*max_length=4"):
        captioner.caption(images(), min_length=5, max_length=4)
    # min_length == max_length is allowed: every caption has all its words.
    for caption in captioner.caption(images(), min_length=4, max_length=4):
        assert len(caption.split()) == 4
    with pytest.raises(TypeError, match="top_p"):
        captioner.caption(images(), strategy="greedy", top_p=0.9)
    with pytest.raises(ValueError, match="num_beam_groups"):
        captioner.caption(images(), strategy="beam", num_beam_groups=2)


def test_word_controls_translation():
    vocabulary = ["<pad>", "<start>", "<end>", "<unk>", "a", "dog", "in"]
    assert generation.word_controls(
        vocabulary, bad_words=["dog", "in a"], bad_endings=["a", "in"]
    ) == {"bad_words_ids": [5, [6, 4]], "bad_endings_ids": [4, 6]}
    assert generation.word_controls(vocabulary, bad_endings=True) == {
        "bad_words_ids": None,
        "bad_endings_ids": [4, 6],
    }
    assert generation.word_controls(vocabulary, bad_endings=False) == {
        "bad_words_ids": None,
        "bad_endings_ids": None,
    }
    with pytest.raises(ValueError, match="empty"):
        generation.word_controls(vocabulary, bad_words=[" "])
