"""Which share of the rows this process reads in a multi-process job."""

import keras


def process_shard():
    """Returns `(num_shards, shard_index)` from Keras's process info.

    On the jax backend, after `keras.distribution.initialize`, these are the
    number of processes and this process's index; otherwise `(1, 0)`.
    """
    if keras.backend.backend() != "jax":
        return 1, 0
    import jax

    return jax.process_count(), jax.process_index()


def check_shard(num_shards, shard_index, shuffle, seed):
    """Returns `(num_shards, shard_index)`, defaults filled in."""
    if num_shards is None and shard_index is None:
        num_shards, shard_index = process_shard()
    elif num_shards is None or shard_index is None:
        raise ValueError(
            "`num_shards` and `shard_index` go together: pass both or "
            f"neither. Received: num_shards={num_shards!r}, "
            f"shard_index={shard_index!r}"
        )
    if isinstance(num_shards, bool) or not isinstance(num_shards, int):
        raise TypeError(
            "`num_shards` must be a positive integer. "
            f"Received: num_shards={num_shards!r}"
        )
    if num_shards < 1:
        raise ValueError(
            "`num_shards` must be a positive integer. "
            f"Received: num_shards={num_shards}"
        )
    if (
        isinstance(shard_index, bool)
        or not isinstance(shard_index, int)
        or not 0 <= shard_index < num_shards
    ):
        raise ValueError(
            f"`shard_index` must be an integer in [0, {num_shards}). "
            f"Received: shard_index={shard_index!r}"
        )
    if num_shards > 1 and shuffle and seed is None:
        raise ValueError(
            "A sharded dataset that shuffles needs the same `seed` on every "
            "process, so that the shards split one order of the rows. "
            f"Received: seed=None with num_shards={num_shards}"
        )
    return num_shards, shard_index
