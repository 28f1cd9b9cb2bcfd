"""Fixtures for the `text` tests.

These tests exercise plain Python and NumPy code that holds no Keras state,
so the suite-wide fixture's `keras.utils.clear_session()` (a full garbage
collection, about 0.6 s per test once torch is loaded) buys nothing here.
Seeding is kept so any randomness stays reproducible.
"""

import keras
import pytest


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    keras.utils.set_random_seed(1337)
    yield
