import json
import warnings

import hypothesis
import keras
import numpy as np
import pytest
from hypothesis import strategies as st

from keras_captioning.text import END_TOKEN
from keras_captioning.text import PAD_TOKEN
from keras_captioning.text import SPECIAL_TOKENS
from keras_captioning.text import START_TOKEN
from keras_captioning.text import UNKNOWN_TOKEN
from keras_captioning.text import CaptionTokenizer
from keras_captioning.text import standardize_caption

WORDS = ["a", "dog", "cat", "on", "the", "grass", "runs", "sleeps"]


def make_tokenizer(max_length=6):
    return CaptionTokenizer(WORDS, max_length=max_length)


def test_special_ids_are_fixed():
    tokenizer = make_tokenizer()
    assert SPECIAL_TOKENS == (PAD_TOKEN, START_TOKEN, END_TOKEN, UNKNOWN_TOKEN)
    assert (
        tokenizer.pad_id,
        tokenizer.start_id,
        tokenizer.end_id,
        tokenizer.unknown_id,
    ) == (0, 1, 2, 3)
    assert tokenizer.vocabulary[:4] == ["<pad>", "<start>", "<end>", "<unk>"]
    assert tokenizer.vocabulary[4:] == WORDS
    assert len(tokenizer) == tokenizer.vocabulary_size == 4 + len(WORDS)
    assert tokenizer.token_to_id("dog") == 5
    assert tokenizer.id_to_token(5) == "dog"


def test_vocabulary_with_special_tokens_is_kept_as_is():
    tokenizer = CaptionTokenizer(list(SPECIAL_TOKENS) + WORDS)
    assert tokenizer.vocabulary == list(SPECIAL_TOKENS) + WORDS


def test_tokenize_layout():
    tokenizer = make_tokenizer(max_length=4)
    ids = tokenizer.tokenize("A dog runs!")
    assert ids.dtype == np.int32
    assert ids.shape == (1, 6)
    assert ids.tolist() == [[1, 4, 5, 10, 2, 0]]


def test_tokenize_accepts_lists_tuples_and_arrays():
    tokenizer = make_tokenizer()
    expected = tokenizer.tokenize(["a dog", "the cat"])
    np.testing.assert_array_equal(
        tokenizer.tokenize(("a dog", "the cat")), expected
    )
    np.testing.assert_array_equal(
        tokenizer.tokenize(np.array(["a dog", "the cat"])), expected
    )
    assert tokenizer.tokenize([]).shape == (0, 8)


caption_words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6)
decorations = st.sampled_from(["", ".", "!", ",", "  ", "\t"])


@hypothesis.settings(deadline=None)
@hypothesis.given(
    st.lists(
        st.tuples(caption_words, decorations, st.booleans()),
        min_size=1,
        max_size=8,
    )
)
def test_round_trip_for_in_vocabulary_text(items):
    tokenizer = make_tokenizer(max_length=6)
    captions = []
    for words, decoration, upper in items:
        caption = (decoration + " ").join(words) + decoration
        captions.append(caption.upper() if upper else caption)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ids = tokenizer.tokenize(captions)
    assert ids.shape == (len(captions), 8)
    assert tokenizer.detokenize(ids) == [
        standardize_caption(caption) for caption in captions
    ]
    # A single row round-trips too.
    assert tokenizer.detokenize(ids[0]) == [standardize_caption(captions[0])]
    assert not tokenizer.unknown_word_counts


@hypothesis.settings(deadline=None)
@hypothesis.given(
    st.lists(caption_words, min_size=1, max_size=5),
    st.integers(1, 4),
)
def test_truncation_keeps_max_length_words_and_warns(captions, max_length):
    tokenizer = make_tokenizer(max_length=max_length)
    strings = [" ".join(words) for words in captions]
    num_long = sum(len(words) > max_length for words in captions)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ids = tokenizer.tokenize(strings)
    messages = [str(w.message) for w in caught]
    if num_long:
        assert len(messages) == 1
        assert messages[0].startswith(f"{num_long} of {len(strings)} captions")
        assert issubclass(caught[0].category, UserWarning)
    else:
        assert not messages
    for row, words in zip(ids, captions, strict=True):
        kept = words[:max_length]
        assert row[0] == tokenizer.start_id
        assert row[len(kept) + 1] == tokenizer.end_id
        assert np.all(row[len(kept) + 2 :] == tokenizer.pad_id)
    assert tokenizer.detokenize(ids) == [
        " ".join(words[:max_length]) for words in captions
    ]


def test_unknown_words_are_counted_and_warned_once_per_call():
    tokenizer = make_tokenizer()
    with pytest.warns(UserWarning, match=r"3 word occurrence\(s\)") as caught:
        ids = tokenizer.tokenize(["a zebra and a zebra", "the dog"])
    assert len(caught) == 1
    assert "'zebra' (2)" in str(caught[0].message)
    assert tokenizer.detokenize(ids) == ["a <unk> <unk> a <unk>", "the dog"]
    assert tokenizer.unknown_word_counts == {"zebra": 2, "and": 1}

    with pytest.warns(UserWarning, match=r"1 word occurrence\(s\)"):
        tokenizer.tokenize("a zebra")
    assert tokenizer.unknown_word_counts == {"zebra": 3, "and": 1}

    tokenizer.reset_unknown_word_counts()
    assert not tokenizer.unknown_word_counts


def test_unknown_words_cut_by_truncation_are_not_counted():
    tokenizer = make_tokenizer(max_length=2)
    with pytest.warns(UserWarning, match="truncated"):
        tokenizer.tokenize("a dog zebra")
    assert not tokenizer.unknown_word_counts


def test_failed_call_changes_nothing():
    tokenizer = make_tokenizer()
    with pytest.raises(ValueError, match=r"strings\[1\]='\?!'"):
        tokenizer.tokenize(["a zebra", "?!"])
    assert not tokenizer.unknown_word_counts


def test_detokenize_rules():
    tokenizer = make_tokenizer()
    assert tokenizer.detokenize([[1, 4, 0, 5, 2, 6, 7], [4, 1, 3, 2]]) == [
        "a dog",
        "a <start> <unk>",
    ]
    # Ragged rows (such as beam search output) and empty rows.
    assert tokenizer.detokenize([[1, 5], [5, 6, 7, 2, 4], []]) == [
        "dog",
        "dog cat on",
        "",
    ]
    assert tokenizer.detokenize(np.array([2, 4], "uint8")) == [""]


def test_detokenize_accepts_backend_tensors():
    tokenizer = make_tokenizer()
    ids = tokenizer.tokenize(["a dog", "the cat on the grass"])
    tensor = keras.ops.convert_to_tensor(ids)
    assert tokenizer.detokenize(tensor) == ["a dog", "the cat on the grass"]
    assert tokenizer.detokenize(tensor[1]) == ["the cat on the grass"]


@pytest.mark.parametrize(
    "ids, error, match",
    [
        ([[1, 12, 2]], ValueError, r"Received: 12 in row 0 at position 1"),
        ([1, -1], ValueError, "Received: -1"),
        (np.zeros((2, 2, 2), "int32"), ValueError, r"\(2, 2, 2\)"),
        (np.array([1.0, 4.0]), TypeError, "float64"),
        ([[1, 2], [1.5]], TypeError, r"ids\[1\] of dtype float64"),
        (7, ValueError, r"Received shape \(\)"),
    ],
)
def test_detokenize_validation(ids, error, match):
    with pytest.raises(error, match=match):
        make_tokenizer().detokenize(ids)


@pytest.mark.parametrize(
    "strings, error, match",
    [
        (["a dog", 3], TypeError, r"strings\[1\]=3"),
        ([b"a dog"], TypeError, r"strings\[0\]=b'a dog'"),
        (3, TypeError, "`strings` must be a str or a list of str"),
        (np.array([["a"]]), ValueError, r"shape \(1, 1\)"),
        ([""], ValueError, r"strings\[0\]=''"),
    ],
)
def test_tokenize_validation(strings, error, match):
    with pytest.raises(error, match=match):
        make_tokenizer().tokenize(strings)


@pytest.mark.parametrize(
    "vocabulary, max_length, error, match",
    [
        (
            ["a", "b", "a", "c", "b"],
            20,
            ValueError,
            r"duplicates: \['a', 'b'\]",
        ),
        (["a", ""], 20, ValueError, r"vocabulary\[1\]=''"),
        (["a", 3], 20, TypeError, r"vocabulary\[1\]=3"),
        ("abc", 20, TypeError, "must be a list of str"),
        (["Dog", "a b", "cat."], 20, ValueError, "standardised"),
        (["<start>", "<pad>", "<end>", "<unk>", "a"], 20, ValueError, "fixed"),
        (["<pad>", "a"], 20, ValueError, r"positions \{'<pad>': 0\}"),
        (["a", "<unk>"], 20, ValueError, "in that order"),
        (["a"], 0, ValueError, "max_length=0"),
        (["a"], 2.0, TypeError, "max_length=2.0"),
        (["a"], True, TypeError, "max_length=True"),
    ],
)
def test_constructor_validation(vocabulary, max_length, error, match):
    with pytest.raises(error, match=match):
        CaptionTokenizer(vocabulary, max_length=max_length)


def test_id_lookups_validate():
    tokenizer = make_tokenizer()
    with pytest.raises(ValueError, match="token='zebra'"):
        tokenizer.token_to_id("zebra")
    with pytest.raises(ValueError, match="id=99"):
        tokenizer.id_to_token(99)


def test_config_round_trip_is_json():
    tokenizer = make_tokenizer(max_length=9)
    config = json.loads(json.dumps(tokenizer.get_config()))
    restored = CaptionTokenizer.from_config(config)
    assert restored.get_config() == tokenizer.get_config()
    assert restored.max_length == 9
    assert restored.vocabulary == tokenizer.vocabulary


def test_keras_serialization_round_trip():
    tokenizer = make_tokenizer(max_length=9)
    serialized = json.loads(
        json.dumps(keras.saving.serialize_keras_object(tokenizer))
    )
    assert serialized["registered_name"] == "keras_captioning>CaptionTokenizer"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(restored, CaptionTokenizer)
    assert restored.get_config() == tokenizer.get_config()
    captions = ["a dog on the grass"]
    np.testing.assert_array_equal(
        restored.tokenize(captions), tokenizer.tokenize(captions)
    )


def test_unicode_punctuation_and_emoji_never_become_words():
    tokenizer = CaptionTokenizer(["a", "dog", "smart", "cat"], max_length=6)
    ids = tokenizer.tokenize(["“Smart” dog—cat 🐶🐶…", "smart dog cat"])
    np.testing.assert_array_equal(ids[0], ids[1])
    assert tokenizer.unknown_word_counts == {}
    with pytest.raises(ValueError, match="empty after standardisation"):
        tokenizer.tokenize(["a dog", "🐶🐶 “…”"])


def test_lone_surrogates_are_refused_naming_the_caption():
    tokenizer = CaptionTokenizer(["a", "dog"])
    with pytest.raises(ValueError) as error:
        tokenizer.tokenize(["a dog", "a \ud800dog"])
    assert "`strings[1]` must be text that can be encoded as UTF-8" in str(
        error.value
    )
    with pytest.raises(ValueError, match=r"`vocabulary\[1\]` must be text"):
        CaptionTokenizer(["a", "dog\udc80"])
