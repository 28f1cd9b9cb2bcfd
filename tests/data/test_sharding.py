"""`num_shards` / `shard_index` of `make_dataset` and `CaptionPyDataset`."""

import pytest

from keras_captioning.data import CaptionPyDataset
from keras_captioning.data import make_dataset
from tests.data.caption_data_helpers import make_images
from tests.data.caption_data_helpers import make_references
from tests.data.caption_data_helpers import parse_rows

# 7 images with 1 or 2 references: 11 (image, reference) rows.
NUM_REFERENCES = [1, 2, 1, 2, 1, 2, 2]


def rows_of(batches, tokenizer):
    rows, sizes = [], []
    for images, token_ids in batches:
        rows += parse_rows(images, token_ids, tokenizer)
        sizes.append(len(images))
    return rows, sizes


def shard_batches(kind, tokenizer, **kwargs):
    arguments = dict(
        images=make_images(len(NUM_REFERENCES)),
        references=make_references(NUM_REFERENCES),
        tokenizer=tokenizer,
        batch_size=2,
        seed=3,
        **kwargs,
    )
    if kind == "py_dataset":
        dataset = CaptionPyDataset(**arguments)
        return [dataset[i] for i in range(len(dataset))]
    return [(x.numpy(), y.numpy()) for x, y in make_dataset(**arguments)]


@pytest.mark.parametrize("kind", ["py_dataset", "tf_data"])
@pytest.mark.parametrize("reference_mode", ["all", "random"])
def test_shards_split_one_epoch_evenly(kind, reference_mode, tokenizer):
    whole, _ = rows_of(
        shard_batches(kind, tokenizer, reference_mode=reference_mode),
        tokenizer,
    )
    shards = [
        rows_of(
            shard_batches(
                kind,
                tokenizer,
                reference_mode=reference_mode,
                num_shards=3,
                shard_index=index,
            ),
            tokenizer,
        )
        for index in range(3)
    ]
    # Same steps on every process, every row of the epoch but the
    # remainder once, in the order of the unsharded epoch.
    assert len({tuple(sizes) for _, sizes in shards}) == 1
    kept = len(whole) // 3 * 3
    if reference_mode == "all":
        interleaved = [shards[i % 3][0][i // 3] for i in range(kept)]
        assert interleaved == whole[:kept]
    else:
        assert sum(len(rows) for rows, _ in shards) == kept
        images = [image for rows, _ in shards for image, _ in rows]
        assert len(set(images)) == kept


def test_one_process_defaults_to_one_shard(tokenizer):
    dataset = CaptionPyDataset(
        make_images(3), make_references([1, 1, 1]), tokenizer, seed=0
    )
    assert (dataset.num_shards, dataset.shard_index) == (1, 0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"num_shards": 2}, ValueError, "go together"),
        ({"num_shards": 0, "shard_index": 0}, ValueError, "num_shards=0"),
        ({"num_shards": "2", "shard_index": 0}, TypeError, "num_shards='2'"),
        ({"num_shards": 2, "shard_index": 2}, ValueError, "shard_index=2"),
        (
            {"num_shards": 2, "shard_index": 0, "seed": None},
            ValueError,
            "same `seed`",
        ),
    ],
)
@pytest.mark.parametrize("kind", ["py_dataset", "tf_data"])
def test_bad_shards(kind, kwargs, error, match, tokenizer):
    arguments = dict(
        images=make_images(3),
        references=make_references([1, 1, 1]),
        tokenizer=tokenizer,
        seed=0,
    )
    arguments.update(kwargs)
    build = CaptionPyDataset if kind == "py_dataset" else make_dataset
    with pytest.raises(error, match=match):
        build(**arguments)
