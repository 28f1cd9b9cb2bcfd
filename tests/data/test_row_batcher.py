"""`keras_captioning.data.RowBatcher`: seeded batches of row indices."""

import numpy as np
import pytest

from keras_captioning import data


def epochs(batcher, count):
    orders = []
    for _ in range(count):
        orders.append(np.concatenate(list(batcher)))
        batcher.on_epoch_end()
    return orders


def test_every_row_once_per_epoch_in_a_seeded_order():
    first = epochs(data.RowBatcher(7, 3, shuffle=True, seed=4), 3)
    again = epochs(data.RowBatcher(7, 3, shuffle=True, seed=4), 3)
    for order, repeated in zip(first, again, strict=True):
        assert sorted(order.tolist()) == list(range(7))
        np.testing.assert_array_equal(order, repeated)
    assert any(not np.array_equal(first[0], order) for order in first[1:])
    assert epochs(data.RowBatcher(7, 3), 1)[0].tolist() == list(range(7))


def test_the_global_random_state_is_neither_read_nor_changed():
    state = np.random.get_state()[1].copy()
    data.RowBatcher(50, 8, shuffle=True).on_epoch_end()
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_fill_last_gives_full_batches_and_callables_draw_rows():
    batcher = data.RowBatcher(5, 2, fill_last=True)
    assert [len(batch) for batch in batcher] == [2, 2, 2]
    assert batcher[-1].tolist() == [4, 0]
    drawn = data.RowBatcher(lambda rng: rng.permutation(4)[:2], 1, seed=1)
    assert len(drawn) == 2
    with pytest.raises(IndexError, match="index=2"):
        drawn[2]
