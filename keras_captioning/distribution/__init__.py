"""Training on several processes: `set_up_distribution` joins the cluster
that Keras's `KERAS_DISTRIBUTION_*` variables describe and trains
data-parallel, for a script and for `keras-captioning train` alike;
`process_index` says which process this is (process 0 writes files)."""

from keras_captioning.distribution.process_index import process_index
from keras_captioning.distribution.set_up_distribution import (
    set_up_distribution,
)

__all__ = ["process_index", "set_up_distribution"]
