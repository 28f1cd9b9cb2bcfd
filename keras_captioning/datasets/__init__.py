"""Captioning datasets: a built-in synthetic one and readers for real ones.

- `shapes`: coloured shapes with five captions each, generated on the fly
  (`keras_captioning.datasets.shapes.load_data`), for fast experiments.
- `karpathy`: the Karpathy split files of COCO, Flickr8k and Flickr30k
  (`keras_captioning.datasets.karpathy.load_split`).
- `flickr8k`: Flickr8k's own token and split files
  (`keras_captioning.datasets.flickr8k.load_split`).

`shapes.load_data` returns `(images, references)`, a uint8 array and a list
of caption lists; the readers return `(image_paths, references)`, a list of
file paths and a list of caption lists.
"""

from keras_captioning.datasets import flickr8k
from keras_captioning.datasets import karpathy
from keras_captioning.datasets import shapes

__all__ = ["flickr8k", "karpathy", "shapes"]
