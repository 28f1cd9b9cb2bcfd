"""Test configuration shared by the whole suite.

The backend comes from `KERAS_BACKEND` (tensorflow when unset), exactly as for
users. Hypothesis has two profiles: `dev` (the default, 25 examples) and
`ci` (5 examples, chosen automatically when `CI` is set).

Some folders test code that never runs on the Keras backend: caption files,
text, the COCO metrics, plots, the command and the examples (which run in
their own processes on the default backend), the export formats, which are
TensorFlow's, and the HTTP server around a captioner. Those run once, on the
default (tensorflow) backend; on jax and torch they are deselected (the
summary says how many), except tests marked `every_backend` (the ones that
feed a dataset to `fit`). Tests elsewhere whose subject is such code are
marked `backend_independent` and run once too: the docstring examples
(documentation; the behaviour they show is tested on every backend by the
tests of each layer and model), the preprocessor (file reading, resizing and
input checks, on the host), and the runs killed and resumed in other processes
(the variables they restore are saved and loaded on every backend by the
saving tests; one `BackupAndRestore` resume, in
tests/models/test_fit_on_features.py, runs on every backend).

Tests marked `large` repeat, for more cases, what a cheaper test of the
default run already checks (every mode and strategy of each export format,
the biggest backbones, every caption form through the command), or cost
minutes (trainings that must learn, processes killed and resumed, several
processes training one model). They are skipped unless `--run_large` is
given, as in KerasHub's suite; docs/contributing.rst says what goes where.
"""

import os
import pathlib

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
# CI's torch and jax runs compile each new shape that an example draws
# (jax: about 15% of its run is Hypothesis); README's command, a user's,
# keeps the `dev` profile's 25 examples on the default backend.
hypothesis.settings.register_profile(
    "ci",
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.load_profile(
    os.environ.get(
        "HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"
    )
)


BACKEND_INDEPENDENT = (
    "cli",
    "datasets",
    "examples",
    "export",
    "data",
    "metrics",
    "serving",
    "text",
    "visualization",
)
_TESTS = pathlib.Path(__file__).parent


def pytest_addoption(parser):
    parser.addoption(
        "--run_large",
        action="store_true",
        default=False,
        help="also run the tests marked `large` (skipped by default)",
    )


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--run_large"):
        skip_large = pytest.mark.skip(
            reason="a `large` case of a test the default run covers; "
            "run it with --run_large"
        )
        for item in items:
            if item.get_closest_marker("large"):
                item.add_marker(skip_large)
    if keras.backend.backend() == "tensorflow":
        return
    kept, once = [], []
    for item in items:
        try:
            folder = item.path.relative_to(_TESTS).parts[0]
        except ValueError:
            folder = None
        in_folder = folder in BACKEND_INDEPENDENT and not (
            item.get_closest_marker("every_backend")
        )
        if in_folder or item.get_closest_marker("backend_independent"):
            once.append(item)
        else:
            kept.append(item)
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = kept
        config._backend_independent_deselected = len(once)


def pytest_terminal_summary(terminalreporter, config):
    count = getattr(config, "_backend_independent_deselected", 0)
    if count:
        terminalreporter.write_line(
            f"{count} tests of backend-independent code "
            f"({', '.join(BACKEND_INDEPENDENT)}, and those marked "
            "backend_independent) were deselected: they run once, on the "
            "tensorflow backend (tests/conftest.py)."
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
