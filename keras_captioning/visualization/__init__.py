"""Figures for inspecting a captioning model: attention maps over the image,
generated captions next to their images, and training curves.

matplotlib is an optional extra (`pip install
"keras-captioning[visualization]"`); it is imported only when a function is
called, so this subpackage imports without it.
"""

from keras_captioning.visualization.plot_attention import plot_attention
from keras_captioning.visualization.plot_captions import plot_captions
from keras_captioning.visualization.plot_history import plot_history

__all__ = ["plot_attention", "plot_captions", "plot_history"]
