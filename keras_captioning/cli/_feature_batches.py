"""Batches of cached features for `keras-captioning train --freeze-encoder`."""

import keras
import numpy as np


class FeatureBatches(keras.utils.PyDataset):
    """`(features, token_ids)` batches, one row per (image, caption) pair.

    Cached features are gathered batch by batch rather than repeated once
    per caption up front, which would multiply their memory by five.
    """

    def __init__(self, features, references, tokenizer, batch_size, seed):
        super().__init__()
        self.features = features
        counts = [len(captions) for captions in references]
        self.token_ids = tokenizer.tokenize(
            [caption for captions in references for caption in captions]
        )
        self.feature_rows = np.repeat(np.arange(len(references)), counts)
        self.batch_size = batch_size
        self.rng = None if seed is None else np.random.default_rng(seed)
        self.order = np.arange(len(self.token_ids))
        self.on_epoch_end()

    def __len__(self):
        return -(-len(self.order) // self.batch_size)

    def __getitem__(self, index):
        rows = self.order[
            index * self.batch_size : (index + 1) * self.batch_size
        ]
        # Sorted indices keep reads from a memory-mapped cache sequential.
        features = self.features[np.sort(self.feature_rows[rows])]
        token_ids = self.token_ids[rows[np.argsort(self.feature_rows[rows])]]
        return np.asarray(features), token_ids

    def on_epoch_end(self):
        if self.rng is not None:
            self.order = self.rng.permutation(len(self.token_ids))
