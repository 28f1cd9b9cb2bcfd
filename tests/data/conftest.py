"""Fixtures shared by the `data` tests."""

import pytest

from tests.data.caption_data_helpers import make_tokenizer


@pytest.fixture
def tokenizer():
    return make_tokenizer()
