"""Captioning datasets: a built-in synthetic one and readers for real ones.

- `load_captions`: one entry point for caption files in every common form
  (Karpathy, COCO, Flickr8k, Flickr30k, CSV / TSV / JSON Lines tables and
  Hugging Face `imagefolder` directories), detected from the file; see
  the "Bring your own data" page of the documentation.
- `split_images`: holds images out of data that has no split.
- `shapes`: coloured shapes with five captions each, generated on the fly
  (`keras_captioning.datasets.shapes.load_data`), for fast experiments.
- `karpathy`: the Karpathy split files of COCO, Flickr8k and Flickr30k
  (`keras_captioning.datasets.karpathy.load_split`).
- `flickr8k`: Flickr8k's own token and split files
  (`keras_captioning.datasets.flickr8k.load_split`).
- `coco`, `caption_table`, `json_lines`, `flickr30k`, `imagefolder`: the
  other forms `load_captions` reads, one module each.

`shapes.load_data` returns `(images, references)`, a uint8 array and a list
of caption lists; the readers return `(image_paths, references)`, a list of
file paths and a list of caption lists.
"""

from keras_captioning.datasets import caption_table
from keras_captioning.datasets import coco
from keras_captioning.datasets import flickr8k
from keras_captioning.datasets import flickr30k
from keras_captioning.datasets import imagefolder
from keras_captioning.datasets import json_lines
from keras_captioning.datasets import karpathy
from keras_captioning.datasets import shapes
from keras_captioning.datasets.load_captions import load_captions
from keras_captioning.datasets.loaded_captions import LoadedCaptions
from keras_captioning.datasets.split_images import split_images

__all__ = [
    "LoadedCaptions",
    "caption_table",
    "coco",
    "flickr8k",
    "flickr30k",
    "imagefolder",
    "json_lines",
    "karpathy",
    "load_captions",
    "shapes",
    "split_images",
]
