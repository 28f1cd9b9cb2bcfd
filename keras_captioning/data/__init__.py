"""Input pipelines: images and reference captions to training batches.

`make_dataset` builds a `tf.data.Dataset` and `CaptionPyDataset` a
`keras.utils.PyDataset` (NumPy and Pillow, no TensorFlow); both yield
`(images, token_ids)` batches for `ImageCaptioner.fit`. `cache_features`
computes a frozen encoder's features once and reuses them. All three read
image files through `read_image`, which raises `ImageFileError` for a file
it cannot read; `find_bad_images` finds such files before training.
"""

from keras_captioning.data._image_files import resize_image
from keras_captioning.data.cache_features import cache_features
from keras_captioning.data.caption_py_dataset import CaptionPyDataset
from keras_captioning.data.find_bad_images import find_bad_images
from keras_captioning.data.hugging_face import HuggingFaceCaptions
from keras_captioning.data.make_dataset import make_dataset
from keras_captioning.data.read_image import ImageFileError
from keras_captioning.data.read_image import full_size_decode
from keras_captioning.data.read_image import read_image
from keras_captioning.data.read_image import set_full_size_decode
from keras_captioning.data.row_batcher import RowBatcher

__all__ = [
    "CaptionPyDataset",
    "HuggingFaceCaptions",
    "ImageFileError",
    "RowBatcher",
    "cache_features",
    "full_size_decode",
    "find_bad_images",
    "make_dataset",
    "read_image",
    "resize_image",
    "set_full_size_decode",
]
