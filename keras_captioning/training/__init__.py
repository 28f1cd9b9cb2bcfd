"""Training recipes: `train_captioner` trains an `ImageCaptioner` on image
files, end to end or on cached features, resumable from a backup."""

from keras_captioning.training.train_captioner import train_captioner

__all__ = ["train_captioner"]
