"""`keras_captioning.text.standardized_words`: the words every part uses."""

import pytest

from keras_captioning import metrics
from keras_captioning import text

CAPTIONS = ["  A dog's ball,  RED! ", "“Smart” dog—cat 🐶🐶…", " ?! ", ""]


@pytest.mark.parametrize("caption", CAPTIONS)
def test_the_words_of_the_standardized_caption(caption):
    words = text.standardized_words(caption)
    assert words == text.standardize_caption(caption).split()
    assert words == metrics.tokenize_caption(caption)


def test_a_non_string_is_refused():
    with pytest.raises(TypeError, match="text"):
        text.standardized_words(b"a dog")
