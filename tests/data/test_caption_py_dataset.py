import collections

import hypothesis
import keras
import numpy as np
import pytest
from hypothesis import strategies as st

from keras_captioning.data import CaptionPyDataset
from keras_captioning.data import ImageFileError
from tests.data.caption_data_helpers import gradient_image
from tests.data.caption_data_helpers import make_images
from tests.data.caption_data_helpers import make_references
from tests.data.caption_data_helpers import make_tokenizer
from tests.data.caption_data_helpers import parse_rows
from tests.data.caption_data_helpers import write_image


def epoch_pairs(dataset, tokenizer):
    pairs = []
    for index in range(len(dataset)):
        images, token_ids = dataset[index]
        pairs += parse_rows(images, token_ids, tokenizer)
    return pairs


def test_batches_from_an_array(tokenizer):
    dataset = CaptionPyDataset(
        make_images(3), make_references([2, 1, 2]), tokenizer, batch_size=2
    )
    assert isinstance(dataset, keras.utils.PyDataset)
    assert len(dataset) == 3
    shapes = []
    for index in range(len(dataset)):
        images, token_ids = dataset[index]
        assert images.dtype == np.uint8 and token_ids.dtype == np.int32
        shapes.append((images.shape, token_ids.shape))
    assert shapes == [((2, 6, 5, 3), (2, 6))] * 2 + [((1, 6, 5, 3), (1, 6))]
    assert dataset[-1][0].shape[0] == 1
    with pytest.raises(IndexError, match="index=3"):
        dataset[3]


@hypothesis.settings(deadline=None)
@hypothesis.given(
    num_references=st.lists(st.integers(1, 4), min_size=1, max_size=7),
    batch_size=st.integers(1, 5),
    reference_mode=st.sampled_from(["all", "random"]),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_rows_cover_the_inputs(
    num_references, batch_size, reference_mode, shuffle, seed
):
    tokenizer = make_tokenizer()
    dataset = CaptionPyDataset(
        make_images(len(num_references)),
        make_references(num_references),
        tokenizer,
        batch_size=batch_size,
        reference_mode=reference_mode,
        shuffle=shuffle,
        seed=seed,
    )
    pairs = epoch_pairs(dataset, tokenizer)
    if reference_mode == "all":
        assert sorted(pairs) == [
            (i, j)
            for i, count in enumerate(num_references)
            for j in range(count)
        ]
    else:
        # One row per image, with one of its own references.
        assert sorted(i for i, _ in pairs) == list(range(len(num_references)))
        assert all(j < num_references[i] for i, j in pairs)
    assert len(dataset) == -(-len(pairs) // batch_size)
    assert all(
        len(dataset[k][0]) == batch_size for k in range(len(dataset) - 1)
    )
    if not shuffle:
        assert [i for i, _ in pairs] == sorted(i for i, _ in pairs)


def test_unshuffled_all_mode_keeps_input_order(tokenizer):
    dataset = CaptionPyDataset(
        make_images(3),
        make_references([2, 1, 3]),
        tokenizer,
        batch_size=4,
        shuffle=False,
    )
    pairs = epoch_pairs(dataset, tokenizer)
    assert pairs == [(0, 0), (0, 1), (1, 0), (2, 0), (2, 1), (2, 2)]
    dataset.on_epoch_end()
    assert epoch_pairs(dataset, tokenizer) == pairs


def test_random_mode_redraws_each_epoch_and_is_seeded(tokenizer):
    def run(seed, num_epochs=4):
        dataset = CaptionPyDataset(
            make_images(12),
            make_references([5] * 12),
            tokenizer,
            batch_size=5,
            reference_mode="random",
            seed=seed,
        )
        epochs = []
        for _ in range(num_epochs):
            epochs.append(epoch_pairs(dataset, tokenizer))
            dataset.on_epoch_end()
        return epochs

    epochs = run(seed=7)
    assert epochs == run(seed=7)
    assert epochs != run(seed=8)
    # The draws differ between epochs, and so does the order.
    draws = [dict(pairs) for pairs in epochs]
    assert len({tuple(sorted(d.items())) for d in draws}) == len(draws)
    assert len({tuple(i for i, _ in pairs) for pairs in epochs}) > 1
    # Over a few epochs most references get drawn.
    used = {pair for pairs in epochs for pair in pairs}
    assert len(used) > 12 * 2


def test_all_mode_uses_every_reference_once_per_epoch(tokenizer):
    dataset = CaptionPyDataset(
        make_images(4), make_references([5, 5, 1, 3]), tokenizer, batch_size=3
    )
    first = epoch_pairs(dataset, tokenizer)
    dataset.on_epoch_end()
    second = epoch_pairs(dataset, tokenizer)
    counts = collections.Counter(first)
    assert len(first) == 14 and set(counts.values()) == {1}
    assert sorted(first) == sorted(second) and first != second


def test_resizes_arrays(tokenizer):
    images = np.stack([gradient_image(12, 10, seed) for seed in range(2)])
    dataset = CaptionPyDataset(
        images,
        make_references([1, 1]),
        tokenizer,
        image_size=(6, 8),
        shuffle=False,
    )
    batch, _ = dataset[0]
    assert batch.shape == (2, 6, 8, 3) and batch.dtype == np.uint8
    # Smooth images keep their mean colour through a resize.
    np.testing.assert_allclose(
        batch.mean(axis=(1, 2)), images.mean(axis=(1, 2)), atol=3
    )


def test_decodes_png_and_jpeg_files(tmp_path, tokenizer):
    colour = gradient_image(8, 6, seed=1)
    grey = gradient_image(8, 6, seed=2)[..., 0]
    paths = [
        write_image(tmp_path / "colour.png", colour),
        write_image(tmp_path / "grey.png", grey),
        write_image(tmp_path / "colour.jpg", colour),
    ]
    dataset = CaptionPyDataset(
        paths,
        [["i0 r0"], ["i1 r0", "i1 r1"], ["i2 r0"]],
        tokenizer,
        batch_size=8,
        shuffle=False,
    )
    images, token_ids = dataset[0]
    assert images.shape == (4, 8, 6, 3) and images.dtype == np.uint8
    assert token_ids.shape == (4, 6)
    np.testing.assert_array_equal(images[0], colour)
    np.testing.assert_array_equal(images[1], np.repeat(grey[..., None], 3, -1))
    np.testing.assert_array_equal(images[1], images[2])
    assert np.abs(images[3].astype(int) - colour).max() <= 8

    # An array of paths (a pandas column, say) works as a list.
    resized = CaptionPyDataset(
        np.array(paths), [["i0"], ["i1"], ["i2"]], tokenizer, image_size=(4, 3)
    )
    assert resized[0][0].shape == (3, 4, 3, 3)


def test_files_of_different_sizes_need_image_size(tmp_path, tokenizer):
    paths = [
        write_image(tmp_path / "a.png", gradient_image(8, 6)),
        write_image(tmp_path / "b.png", gradient_image(7, 6)),
    ]
    dataset = CaptionPyDataset(
        paths, [["i0"], ["i1"]], tokenizer, shuffle=False
    )
    with pytest.raises(ValueError, match=r"b\.png.*\(7, 6\).*\(8, 6\)"):
        dataset[0]
    resized = CaptionPyDataset(
        paths, [["i0"], ["i1"]], tokenizer, image_size=(8, 6)
    )
    assert resized[0][0].shape == (2, 8, 6, 3)


def test_undecodable_file(tmp_path, tokenizer):
    path = tmp_path / "broken.png"
    path.write_bytes(b"not an image")
    with pytest.raises(ImageFileError, match="broken.png"):
        CaptionPyDataset([str(path)], [["i0"]], tokenizer)
    dataset = CaptionPyDataset(
        [str(path)], [["i0"]], tokenizer, image_size=(2, 2)
    )
    with pytest.raises(ImageFileError, match="read the image file.*broken.png"):
        dataset[0]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.every_backend
def test_fit_consumes_the_dataset(tokenizer, workers):
    def make():
        return CaptionPyDataset(
            make_images(10),
            make_references([2] * 10),
            tokenizer,
            batch_size=4,
            reference_mode="random",
            seed=0,
            workers=workers,
        )

    dataset = make()
    inputs = keras.Input((6, 5, 3), dtype="uint8")
    features = keras.layers.Rescaling(1 / 255)(inputs)
    features = keras.layers.GlobalAveragePooling2D()(features)
    outputs = keras.layers.Dense(tokenizer.sequence_length)(features)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(dataset, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.all(np.isfinite(history.history["loss"]))
    # `fit` called `on_epoch_end`, so rows and references were drawn anew.
    assert epoch_pairs(dataset, tokenizer) != epoch_pairs(make(), tokenizer)
