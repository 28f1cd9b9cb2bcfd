"""Export of a trained captioner for serving, with generation inside.

`export_captioner` (also `ImageCaptioner.export`) writes a TensorFlow
SavedModel that returns caption strings, or a LiteRT (`.tflite`) or ONNX
file that returns token ids, with the vocabulary beside it as JSON. See
the "Deploying a captioner" page of the documentation.
"""

from keras_captioning.export.export_captioner import FORMATS
from keras_captioning.export.export_captioner import captions_from_ids
from keras_captioning.export.export_captioner import export_captioner
from keras_captioning.export.export_captioner import load_vocabulary
from keras_captioning.export.export_captioner import vocabulary_path

__all__ = [
    "FORMATS",
    "captions_from_ids",
    "export_captioner",
    "load_vocabulary",
    "vocabulary_path",
]
