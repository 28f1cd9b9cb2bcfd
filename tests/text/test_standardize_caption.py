import string

import hypothesis
import pytest
from hypothesis import strategies as st

from keras_captioning.text import standardize_caption


@pytest.mark.parametrize(
    "text, expected",
    [
        ("A dog runs.", "a dog runs"),
        ("  Two   DOGS\tplay\n", "two dogs play"),
        ("A man's t-shirt, (red)!", "a mans tshirt red"),
        ("<unk> <start>", "unk start"),
        ("Café au lait", "café au lait"),
        ("?!...", ""),
        ("", ""),
    ],
)
def test_examples(text, expected):
    assert standardize_caption(text) == expected


@hypothesis.settings(deadline=None)
@hypothesis.given(st.text())
def test_is_idempotent_and_clean(text):
    result = standardize_caption(text)
    assert standardize_caption(result) == result
    assert result == result.lower()
    assert not set(result) & set(string.punctuation)
    assert result == " ".join(result.split())


@pytest.mark.parametrize("text", [None, 3, b"a dog", ["a dog"]])
def test_rejects_non_str(text):
    with pytest.raises(TypeError, match="`text` must be a str"):
        standardize_caption(text)
