"""The one place the tests import Keras's private test harness.

`keras.src.testing.TestCase` (with `run_layer_test`) is private API; the
`test` extra of `pyproject.toml` pins the Keras minor version it is used
with. Tests import `TestCase` from here, so a change of that API is fixed in
one file.
"""

from keras.src.testing import TestCase  # noqa: F401
