import math

import numpy as np


class RowBatcher:
    """Seeded batches of row indices, drawn afresh for every epoch.

    The one batcher of rows of arrays in the library: `CaptionPyDataset`,
    `HuggingFaceCaptions`, `ImageCaptioner.fit_on_features` and
    self-critical training index their arrays with its batches. Epoch `e`
    draws its rows with a NumPy generator seeded by `(seed, e)`, so any
    epoch can be reproduced without replaying the ones before it, and no
    global random state is read or changed.

    Args:
        rows: int or callable. An int `n` batches the rows `0 .. n - 1`
            (permuted each epoch when `shuffle`); a callable
            `rows(rng) -> 1-D int array` draws an epoch's rows itself from
            the epoch's `numpy.random.Generator` (for a selection of rows,
            or a shard).
        batch_size: int. Rows per batch; the last batch may be smaller.
        shuffle: bool. Permute the rows of an int `rows` every epoch.
            Defaults to `False`.
        seed: int or `None`. Seed of the epochs' generators; `None` draws
            one from the operating system's entropy. Defaults to `None`.
        fill_last: bool. Fill the last batch up with the epoch's first
            rows, so that every batch holds `batch_size` rows (one shape,
            one compiled step). Defaults to `False`.

    Example:
    >>> batcher = keras_captioning.data.RowBatcher(
    ...     5, batch_size=2, shuffle=True, seed=0)
    >>> len(batcher), sorted(np.concatenate(list(batcher)).tolist())
    (3, [0, 1, 2, 3, 4])
    >>> first_epoch = batcher.order
    >>> batcher.on_epoch_end()
    >>> again = keras_captioning.data.RowBatcher(
    ...     5, batch_size=2, shuffle=True, seed=0)
    >>> bool(np.array_equal(again.order, first_epoch))
    True
    """

    def __init__(
        self, rows, batch_size, shuffle=False, seed=None, fill_last=False
    ):
        self.rows = rows
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = (
            np.random.SeedSequence().entropy if seed is None else int(seed)
        )
        self.fill_last = fill_last
        self.epoch = 0
        self.order = self._draw()

    def _draw(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        if callable(self.rows):
            order = np.asarray(self.rows(rng))
        else:
            order = np.arange(self.rows)
            if self.shuffle:
                order = rng.permutation(order)
        if self.fill_last and len(order):
            order = np.resize(
                order, math.ceil(len(order) / self.batch_size) * self.batch_size
            )
        return order

    def __len__(self):
        return math.ceil(len(self.order) / self.batch_size)

    def __getitem__(self, index):
        """The rows of batch `index` (negative indices count from the end)."""
        if not -len(self) <= index < len(self):
            raise IndexError(
                f"Batch index out of range: the dataset has {len(self)} "
                f"batches. Received: index={index}"
            )
        index %= len(self)
        return self.order[
            index * self.batch_size : (index + 1) * self.batch_size
        ]

    def on_epoch_end(self):
        """Moves to the next epoch and draws its rows."""
        self.epoch += 1
        self.order = self._draw()
