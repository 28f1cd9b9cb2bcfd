"""Input pipelines: images and reference captions to training batches.

`make_dataset` builds a `tf.data.Dataset` and `CaptionPyDataset` a
`keras.utils.PyDataset` (NumPy and Pillow, no TensorFlow); both yield
`(images, token_ids)` batches for `ImageCaptioner.fit`. `cache_features`
computes a frozen encoder's features once and reuses them. All three read
image files through `read_image`, which raises `ImageFileError` for a file
it cannot read; `find_bad_images` finds such files before training.
`list_image_files` lists the images of folders, `ImageFiles` reads files
on demand as an array of images for scoring, and `caption_image_files`
captions files in batches past the ones that cannot be read.
"""

from keras_captioning.data._image_files import resize_image
from keras_captioning.data.cache_features import cache_features
from keras_captioning.data.caption_image_files import caption_image_files
from keras_captioning.data.caption_py_dataset import CaptionPyDataset
from keras_captioning.data.find_bad_images import find_bad_images
from keras_captioning.data.hugging_face import HuggingFaceCaptions
from keras_captioning.data.image_files import ImageFiles
from keras_captioning.data.list_image_files import list_image_files
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
    "ImageFiles",
    "RowBatcher",
    "cache_features",
    "caption_image_files",
    "full_size_decode",
    "find_bad_images",
    "list_image_files",
    "make_dataset",
    "read_image",
    "resize_image",
    "set_full_size_decode",
]
