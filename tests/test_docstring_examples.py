"""Runs every `>>>` example in the docstrings of the package's modules.

The docstrings are the documentation (the API reference renders them), so
each example runs here as its own test case: an example that stops matching
the code fails the suite instead of misleading a reader. They run once, on
the default backend (`backend_independent`, tests/conftest.py): what they
show is tested on every backend by the tests of each layer and model.
Private modules (`_self_critical.py`, ...) are collected too: an example a
reader of the source finds must run as well. No example trains: a `fit`
line is shown with `# doctest: +SKIP` (the tests of each model train it).
"""

import doctest
import importlib
import pkgutil
import sys

import keras
import numpy as np
import pytest

import keras_captioning

pytestmark = pytest.mark.backend_independent

OPTION_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _module_names():
    names = ["keras_captioning"]
    for module_info in pkgutil.walk_packages(
        keras_captioning.__path__, prefix="keras_captioning."
    ):
        # Importing a `__main__` module would run its program.
        if module_info.name.rsplit(".", 1)[-1] == "__main__":
            continue
        names.append(module_info.name)
    return sorted(names)


def _collect_docstring_tests():
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = []
    for module_name in _module_names():
        # `importlib` rather than attribute access: `keras_captioning.metrics
        # .meteor` is the function that shadows the module of that name.
        module = importlib.import_module(module_name)
        # The finder only keeps objects defined in `module`, so a class
        # re-exported by its subpackage is collected once.
        tests.extend(
            test for test in finder.find(module, module_name) if test.examples
        )
    return sorted(tests, key=lambda test: test.name)


DOCSTRING_TESTS = _collect_docstring_tests()


def test_every_public_class_and_function_has_an_example():
    documented = {test.name for test in DOCSTRING_TESTS}
    assert documented, "No docstring example was collected."
    missing = []
    subpackages = {
        name: getattr(keras_captioning, name)
        for name in keras_captioning.__all__
    }
    # Public too, though `keras_captioning.__all__` leaves them out (they
    # are imported only when used: the command, and export's TensorFlow).
    for name in ("export", "cli"):
        subpackages[name] = importlib.import_module(f"keras_captioning.{name}")
    for subpackage_name, subpackage in subpackages.items():
        for name in getattr(subpackage, "__all__", ()):
            obj = getattr(subpackage, name)
            if not (isinstance(obj, type) or callable(obj)):
                continue
            full_name = f"{obj.__module__}.{obj.__qualname__}"
            if full_name not in documented:
                missing.append(f"keras_captioning.{subpackage_name}.{name}")
    # `datasets` exposes modules; the functions they define are the API.
    for module_name in keras_captioning.datasets.__all__:
        module = getattr(keras_captioning.datasets, module_name)
        for name, obj in vars(module).items():
            if name.startswith("_") or not callable(obj):
                continue
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            full_name = f"{module.__name__}.{obj.__qualname__}"
            if full_name not in documented:
                missing.append(full_name)
    assert not missing, f"Public names without a docstring example: {missing}"


def test_every_module_with_an_example_is_collected():
    # Private modules included: `_self_critical.py` once had an example no
    # test ran.
    missing = []
    for module_name in _module_names():
        module = importlib.import_module(module_name)
        path = getattr(module, "__file__", None)
        with open(path, encoding="utf-8") as file:
            if ">>> " not in file.read():
                continue
        if not any(
            test.name == module_name or test.name.startswith(module_name + ".")
            for test in DOCSTRING_TESTS
        ):
            missing.append(module_name)
    assert not missing, f"Examples not collected in: {missing}"


@pytest.mark.parametrize(
    "docstring_test",
    DOCSTRING_TESTS,
    ids=[
        test.name.removeprefix("keras_captioning.") for test in DOCSTRING_TESTS
    ],
)
def test_docstring_example(docstring_test, tmp_path, monkeypatch):
    # Examples that write files write them into a fresh folder.
    monkeypatch.chdir(tmp_path)
    # The names the house style lets an example use without importing them.
    docstring_test.globs = {
        "keras": keras,
        "keras_captioning": keras_captioning,
        "np": np,
    }
    runner = doctest.DocTestRunner(optionflags=OPTION_FLAGS)
    report = []
    try:
        result = runner.run(docstring_test, out=report.append)
    finally:
        _close_figures()
    assert result.failed == 0, "".join(report)


def _close_figures():
    # The plotting functions build figures without pyplot; an example that
    # uses pyplot itself must not leave its figures open for the next test.
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
