import doctest
import importlib

import keras
import numpy as np

import keras_captioning

MODULES = [
    "keras_captioning.metrics.bleu",
    "keras_captioning.metrics.cider",
    "keras_captioning.metrics.evaluation",
    "keras_captioning.metrics.meteor",
    "keras_captioning.metrics.rouge",
    "keras_captioning.metrics.tokenization",
]


def test_docstring_examples_run():
    for module_name in MODULES:
        # Attribute access would give the function `metrics.meteor`, not
        # the module of the same name.
        module = importlib.import_module(module_name)
        results = doctest.testmod(
            module,
            extraglobs={
                "keras_captioning": keras_captioning,
                "np": np,
                "keras": keras,
            },
            optionflags=doctest.NORMALIZE_WHITESPACE,
        )
        assert results.attempted > 0, module_name
        assert results.failed == 0, module_name
