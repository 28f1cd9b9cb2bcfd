"""What the library needs to know about a multi-process job."""

import json
import os

import keras

UPSTREAM_ISSUE = "https://github.com/keras-team/keras/issues/20585"


def check_tf_config():
    """Refuses a multi-worker `TF_CONFIG` on the tensorflow backend."""
    if keras.backend.backend() != "tensorflow":
        return
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG") or "{}")["cluster"]
        workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    except (ValueError, KeyError, TypeError, AttributeError):
        return
    if workers > 1:
        raise RuntimeError(
            f"TF_CONFIG describes a cluster of {workers} workers, but "
            "tf.distribute.MultiWorkerMirroredStrategy fails in Keras 3's "
            f"`fit` ({UPSTREAM_ISSUE}): use KERAS_BACKEND=jax with "
            "keras.distribution (KERAS_DISTRIBUTION_* variables) instead; "
            "see the 'Long runs and many machines' guide."
        )
