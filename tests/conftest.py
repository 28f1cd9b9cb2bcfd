"""Test configuration shared by the whole suite.

The backend comes from `KERAS_BACKEND` (tensorflow when unset), exactly as for
users. Hypothesis has two profiles: `dev` (the default, more examples) and
`ci` (fewer examples, chosen automatically when `CI` is set).
"""

import os

# Keep TensorFlow's C++ start-up chatter out of the test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import hypothesis  # noqa: E402
import keras  # noqa: E402
import pytest  # noqa: E402

hypothesis.settings.register_profile(
    "dev",
    max_examples=25,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.register_profile(
    "ci",
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.load_profile(
    os.environ.get(
        "HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"
    )
)


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    """Each test starts from a clean Keras global state and a fixed seed."""
    keras.utils.clear_session(free_memory=False)
    keras.utils.set_random_seed(1337)
    yield
    keras.config.set_dtype_policy("float32")
