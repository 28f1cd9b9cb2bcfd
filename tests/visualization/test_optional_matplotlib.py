import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_captioning.visualization import plot_attention
from keras_captioning.visualization import plot_captions
from keras_captioning.visualization import plot_history


def test_subpackage_imports_without_matplotlib():
    # A fresh interpreter, because this one has matplotlib loaded already.
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"
        "import keras_captioning.visualization as visualization\n"
        "print(sorted(visualization.__all__))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        # The backend under test: it is installed, whichever it is (the
        # `test` extra installs no other one).
        env={
            **os.environ,
            "KERAS_BACKEND": keras.backend.backend(),
            "TF_CPP_MIN_LOG_LEVEL": "3",
        },
    )
    assert result.returncode == 0, result.stderr
    assert (
        "['plot_attention', 'plot_captions', 'plot_history']" in result.stdout
    )


def test_calling_without_matplotlib_says_how_to_install_it(
    monkeypatch, subtests
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    plots = {
        "plot_attention": lambda: plot_attention(
            np.zeros((4, 4)), ["a"], np.ones((1, 4))
        ),
        "plot_captions": lambda: plot_captions(np.zeros((1, 4, 4)), ["a"]),
        "plot_history": lambda: plot_history({"loss": [1.0]}),
    }
    for name, plot in plots.items():
        with subtests.test(name):
            with pytest.raises(
                ImportError,
                match=r'pip install "keras-captioning\[visualization\]"',
            ):
                plot()
