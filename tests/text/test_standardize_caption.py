import string
import unicodedata

import hypothesis
import pytest
from hypothesis import strategies as st

from keras_captioning.text import standardize_caption

# Every general category of the Unicode standard; `Cs` are lone surrogates.
CATEGORIES = (
    "Lu Ll Lt Lm Lo Mn Mc Me Nd Nl No Pc Pd Ps Pe Pi Pf Po Sm Sc Sk So "
    "Zs Zl Zp Cc Cf Cs Co Cn"
).split()


def any_character():
    """Any code point at all, or one drawn from a chosen category, so that
    rare categories (Lt, Me, Zl...) are met as often as common ones."""
    return st.one_of(
        st.characters(exclude_categories=()),
        st.sampled_from(CATEGORIES).flatmap(
            lambda category: st.characters(categories=[category])
        ),
    )


def has_surrogate(text):
    return any(unicodedata.category(character) == "Cs" for character in text)


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
        # Unicode punctuation is deleted as ASCII punctuation is.
        ("“Smart” quotes", "smart quotes"),
        ("‘single’ don’t", "single dont"),
        ("«Bonjour», ¿qué tal? ¡Hola!", "bonjour qué tal hola"),
        ("wait… what", "wait what"),
        ("a t‐shirt", "a tshirt"),  # U+2010 HYPHEN joins, like "-"
        # Dashes wider than a hyphen separate words.
        ("a dog—a brown one—runs", "a dog a brown one runs"),
        ("pages 1–2 ― done", "pages 1 2 done"),
        ("a dog — running", "a dog running"),
        # Symbols and emoji are dropped, with the pieces of their sequences.
        ("🐶🐶", ""),
        ("a 🐶 dog🐶🐶 runs", "a dog runs"),
        ("a happy 👨\u200d👩\u200d👧 family", "a happy family"),
        ("thumbs 👍🏽 up", "thumbs up"),
        ("❤️dog", "dog"),
        ("1️⃣ apple", "1 apple"),
        ("5€ at 20°C ©", "5 at 20c"),
        # Invisible format characters (soft hyphen, BOM) are deleted.
        ("\ufeffa dog\u00adhouse", "a doghouse"),
        # Letters, digits and combining marks of every script are kept.
        ("Ärger ЖУК 猫 ٣ e\u0301", "ärger жук 猫 ٣ e\u0301"),
    ],
)
def test_examples(text, expected):
    assert standardize_caption(text) == expected


def test_ascii_punctuation_is_the_unicode_rule_restricted_to_ascii():
    # The ASCII fast path deletes `string.punctuation`; the general rule
    # deletes categories P* and S*: on ASCII they are the same characters.
    ascii_punctuation_and_symbols = {
        chr(code)
        for code in range(128)
        if unicodedata.category(chr(code))[0] in "PS"
    }
    assert ascii_punctuation_and_symbols == set(string.punctuation)
    for character in map(chr, range(128)):
        # The general path (forced by a non-ASCII letter) agrees.
        assert standardize_caption(f"é{character}x") == standardize_caption(
            f"e{character}x"
        ).replace("e", "é", 1)


@hypothesis.given(st.text(any_character()))
def test_is_idempotent_and_clean(text):
    if has_surrogate(text):
        with pytest.raises(ValueError, match="lone surrogate"):
            standardize_caption(text)
        return
    result = standardize_caption(text)
    assert standardize_caption(result) == result
    assert result == result.lower()
    assert result == " ".join(result.split())
    for character in result.replace(" ", ""):
        category = unicodedata.category(character)
        assert category[0] not in "PS", (character, category)
        assert category not in ("Cf", "Me", "Cs"), (character, category)
    result.encode("utf-8")


@hypothesis.given(st.text(any_character()), st.text(any_character()))
def test_separates_words_as_whitespace_does(left, right):
    # Standardising never joins words across whitespace, nor splits one.
    hypothesis.assume(not has_surrogate(left + right))
    assert standardize_caption(f"{left} {right}") == " ".join(
        part
        for part in (standardize_caption(left), standardize_caption(right))
        if part
    )


@pytest.mark.parametrize(
    "text, position",
    [("\ud800", 0), ("a dog\udc80", 5), ("“a\udfff”", 2)],
)
def test_lone_surrogates_raise_a_clear_error(text, position):
    with pytest.raises(ValueError) as error:
        standardize_caption(text)
    message = str(error.value)
    assert "`text` must be text that can be encoded as UTF-8" in message
    assert f"at position {position}" in message
    assert repr(text) in message


@pytest.mark.parametrize("text", [None, 3, b"a dog", ["a dog"]])
def test_rejects_non_str(text):
    with pytest.raises(TypeError, match="`text` must be a str"):
        standardize_caption(text)
