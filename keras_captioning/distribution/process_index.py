"""This process's place in a multi-process job."""

import keras


def process_index():
    """This process's index in a multi-process JAX job, else `0`.

    Process 0 is the one that writes files (`ImageCaptioner.save` and the
    `keras-captioning train` command write from it only); the others give
    their own index, `1` to the number of processes less one, after
    `set_up_distribution` has joined the cluster.

    Returns:
        int.

    Example:

    >>> import keras_captioning
    >>> keras_captioning.distribution.process_index()
    0
    """
    if keras.backend.backend() != "jax":
        return 0
    import jax

    return jax.process_index()
