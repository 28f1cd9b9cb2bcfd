"""Input pipelines: images and reference captions to training batches.

`make_dataset` builds a `tf.data.Dataset` and `CaptionPyDataset` a
`keras.utils.PyDataset` (NumPy and Pillow, no TensorFlow); both yield
`(images, token_ids)` batches for `ImageCaptioner.fit`. `cache_features`
computes a frozen encoder's features once and reuses them.
"""

from keras_captioning.data.cache_features import cache_features
from keras_captioning.data.caption_py_dataset import CaptionPyDataset
from keras_captioning.data.make_dataset import make_dataset

__all__ = ["CaptionPyDataset", "cache_features", "make_dataset"]
