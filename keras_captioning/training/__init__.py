"""Training recipes: `build_captioner` and `compile_captioner` make the
`ImageCaptioner` a run describes, and `train_captioner` trains it on image
files, end to end or on cached features, resumable from a backup."""

from keras_captioning.training.build_captioner import build_captioner
from keras_captioning.training.build_captioner import compile_captioner
from keras_captioning.training.train_captioner import train_captioner

__all__ = ["build_captioner", "compile_captioner", "train_captioner"]
