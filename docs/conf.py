"""Sphinx configuration of the keras_captioning documentation.

Build with `sphinx-build -W --keep-going -b html docs docs/_build/html`.
The build needs no network: there is no intersphinx, and nothing is fetched.
"""

import inspect
import os
import pathlib
import sys

# Autodoc imports the package, which imports Keras: the backend must be
# chosen, and TensorFlow's C++ start-up logging silenced, before that.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The package is normally installed (`pip install -e .`); the path keeps a
# plain checkout buildable too.
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402

import keras_captioning  # noqa: E402

project = "keras_captioning"
author = "keras_captioning contributors"
copyright = "keras_captioning contributors"
release = keras_captioning.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]

# Docstrings write `name` for code, as Keras's do.
default_role = "code"
exclude_patterns = ["_build"]
templates_path = []

# -- autodoc and napoleon ----------------------------------------------------

autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_class_signature = "mixed"
# The summary and options live in the class docstring, as in Keras.
autoclass_content = "class"
autodoc_inherit_docstrings = False

napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_include_init_with_doc = False
napoleon_use_rtype = False
napoleon_custom_sections = [
    # Rendered exactly like `Args`: a list of named parameters.
    ("Call arguments", "params_style"),
    # The docstrings say "Reference:" for a single paper.
    ("Reference", "References"),
]

# -- HTML --------------------------------------------------------------------

html_theme = "furo"
html_title = f"keras_captioning {release}"
html_static_path = []
html_show_sourcelink = False


def _init_signature(cls):
    """`cls.__init__`'s signature without `self`, or `None`."""
    init = None
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            init = vars(klass)["__init__"]
            break
    if init is None or init is object.__init__:
        return None
    signature = inspect.signature(init)
    parameters = list(signature.parameters.values())[1:]
    return signature.replace(parameters=parameters)


def _substitute_init_signature(
    app, what, name, obj, options, signature, return_annotation
):
    """Shows a Keras class's real constructor arguments.

    `keras.layers.Layer`, `keras.Model` and `keras.metrics.Metric` define
    `__new__(cls, *args, **kwargs)`, which autodoc prefers to `__init__`, so
    every layer and model would be documented as `(*args, **kwargs)`.
    """
    if what != "class" or not inspect.isclass(obj):
        return None
    keras_bases = (
        keras.layers.Layer,
        keras.losses.Loss,
        keras.metrics.Metric,
        keras.callbacks.Callback,
    )
    if not issubclass(obj, keras_bases):
        return None
    init_signature = _init_signature(obj)
    if init_signature is None:
        return None
    return str(init_signature), return_annotation


def setup(app):
    app.connect("autodoc-process-signature", _substitute_init_signature)
