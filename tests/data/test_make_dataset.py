import collections

import hypothesis
import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import strategies as st

from keras_captioning.data import CaptionPyDataset
from keras_captioning.data import make_dataset
from tests.data.caption_data_helpers import gradient_image
from tests.data.caption_data_helpers import make_images
from tests.data.caption_data_helpers import make_references
from tests.data.caption_data_helpers import make_tokenizer
from tests.data.caption_data_helpers import parse_rows
from tests.data.caption_data_helpers import write_image


def epoch_pairs(dataset, tokenizer):
    pairs = []
    for images, token_ids in dataset.as_numpy_iterator():
        pairs += parse_rows(images, token_ids, tokenizer)
    return pairs


def test_batches_from_an_array(tokenizer):
    dataset = make_dataset(
        make_images(3), make_references([2, 1, 2]), tokenizer, batch_size=2
    )
    assert isinstance(dataset, tf.data.Dataset)
    images_spec, token_ids_spec = dataset.element_spec
    assert images_spec.dtype == tf.uint8 and token_ids_spec.dtype == tf.int32
    assert images_spec.shape.as_list() == [None, 6, 5, 3]
    assert token_ids_spec.shape.as_list() == [None, 6]
    shapes = [
        (images.shape, token_ids.shape)
        for images, token_ids in dataset.as_numpy_iterator()
    ]
    assert shapes == [((2, 6, 5, 3), (2, 6))] * 2 + [((1, 6, 5, 3), (1, 6))]


@hypothesis.settings(deadline=None)
@hypothesis.given(
    num_references=st.lists(st.integers(1, 4), min_size=1, max_size=7),
    batch_size=st.integers(1, 5),
    reference_mode=st.sampled_from(["all", "random"]),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**30),
)
def test_rows_cover_the_inputs(
    num_references, batch_size, reference_mode, shuffle, seed
):
    tokenizer = make_tokenizer()
    dataset = make_dataset(
        make_images(len(num_references)),
        make_references(num_references),
        tokenizer,
        batch_size=batch_size,
        reference_mode=reference_mode,
        shuffle=shuffle,
        seed=seed,
    )
    batch_sizes = []
    pairs = []
    for images, token_ids in dataset.as_numpy_iterator():
        batch_sizes.append(len(images))
        pairs += parse_rows(images, token_ids, tokenizer)
    if reference_mode == "all":
        expected = sorted(
            (i, j)
            for i, count in enumerate(num_references)
            for j in range(count)
        )
        assert sorted(pairs) == expected
    else:
        assert sorted(i for i, _ in pairs) == list(range(len(num_references)))
        assert all(j < num_references[i] for i, j in pairs)
    assert all(size == batch_size for size in batch_sizes[:-1])
    assert 1 <= batch_sizes[-1] <= batch_size
    if not shuffle:
        assert [i for i, _ in pairs] == sorted(i for i, _ in pairs)


def test_drop_remainder_gives_static_batches(tokenizer):
    dataset = make_dataset(
        make_images(3),
        make_references([2, 1, 2]),
        tokenizer,
        batch_size=2,
        drop_remainder=True,
    )
    assert dataset.element_spec[0].shape.as_list() == [2, 6, 5, 3]
    assert len(list(dataset)) == 2


def test_all_mode_uses_every_reference_once_per_epoch(tokenizer):
    dataset = make_dataset(
        make_images(4),
        make_references([5, 5, 1, 3]),
        tokenizer,
        batch_size=3,
        seed=1,
    )
    first = epoch_pairs(dataset, tokenizer)
    second = epoch_pairs(dataset, tokenizer)
    expected = [(i, j) for i, n in enumerate([5, 5, 1, 3]) for j in range(n)]
    assert sorted(first) == sorted(second) == expected
    assert set(collections.Counter(first).values()) == {1}
    assert first != second


def test_unshuffled_all_mode_keeps_input_order(tokenizer):
    dataset = make_dataset(
        make_images(3),
        make_references([2, 1, 3]),
        tokenizer,
        batch_size=4,
        shuffle=False,
    )
    expected = [(0, 0), (0, 1), (1, 0), (2, 0), (2, 1), (2, 2)]
    assert epoch_pairs(dataset, tokenizer) == expected


def test_random_mode_redraws_each_epoch_and_is_seeded(tokenizer):
    def run(seed, shuffle=True, num_epochs=3):
        dataset = make_dataset(
            make_images(12),
            make_references([5] * 12),
            tokenizer,
            batch_size=5,
            reference_mode="random",
            shuffle=shuffle,
            seed=seed,
        )
        return [epoch_pairs(dataset, tokenizer) for _ in range(num_epochs)]

    epochs = run(seed=7)
    assert epochs == run(seed=7)
    assert epochs != run(seed=8)
    for pairs in epochs:
        assert sorted(i for i, _ in pairs) == list(range(12))
        assert all(0 <= j < 5 for _, j in pairs)
    draws = [tuple(sorted(pairs)) for pairs in epochs]
    assert len(set(draws)) == len(draws)
    assert len({tuple(i for i, _ in pairs) for pairs in epochs}) > 1

    unshuffled = run(seed=7, shuffle=False)
    assert all([i for i, _ in pairs] == list(range(12)) for pairs in unshuffled)
    assert len({tuple(pairs) for pairs in unshuffled}) > 1


def test_resizes_arrays_like_the_py_dataset(tokenizer):
    noise = np.random.default_rng(0).integers(0, 256, (24, 20, 3), "uint8")
    images = np.stack(
        [gradient_image(24, 20, 0), gradient_image(24, 20, 1), noise]
    )
    references = [["i0"], ["i1"], ["i2"]]
    for image_size in [(10, 8), (30, 25), (7, 19)]:
        dataset = make_dataset(
            images,
            references,
            tokenizer,
            image_size=image_size,
            shuffle=False,
        )
        (batch, _) = next(dataset.as_numpy_iterator())
        assert batch.shape == (3, *image_size, 3) and batch.dtype == np.uint8
        reference = CaptionPyDataset(
            images, references, tokenizer, image_size=image_size, shuffle=False
        )[0][0]
        # Both resize bilinearly with antialiasing; only rounding differs.
        assert np.abs(batch.astype(int) - reference).max() <= 1


def test_decodes_png_and_jpeg_files_like_pillow(tmp_path, tokenizer):
    colour = gradient_image(8, 6, seed=1)
    grey = gradient_image(8, 6, seed=2)[..., 0]
    paths = [
        write_image(tmp_path / "colour.png", colour),
        write_image(tmp_path / "grey.png", grey),
        write_image(tmp_path / "colour.jpg", colour),
    ]
    references = [["i0 r0"], ["i1 r0", "i1 r1"], ["i2 r0"]]
    dataset = make_dataset(
        paths, references, tokenizer, batch_size=8, shuffle=False
    )
    assert dataset.element_spec[0].shape.as_list() == [None, 8, 6, 3]
    images, token_ids = next(dataset.as_numpy_iterator())
    assert images.shape == (4, 8, 6, 3) and images.dtype == np.uint8
    assert token_ids.shape == (4, 6) and token_ids.dtype == np.int32
    np.testing.assert_array_equal(images[0], colour)
    np.testing.assert_array_equal(images[1], np.repeat(grey[..., None], 3, -1))
    pillow_images, _ = CaptionPyDataset(
        paths, references, tokenizer, batch_size=8, shuffle=False
    )[0]
    # One reader for both pipelines: identical pixels, JPEG included.
    np.testing.assert_array_equal(images, pillow_images)

    resized = make_dataset(paths, references, tokenizer, image_size=(4, 3))
    assert next(iter(resized))[0].shape == (4, 4, 3, 3)


def test_files_of_different_sizes_need_image_size(tmp_path, tokenizer):
    paths = [
        write_image(tmp_path / "a.png", gradient_image(8, 6)),
        write_image(tmp_path / "b.png", gradient_image(7, 6)),
    ]
    dataset = make_dataset(paths, [["i0"], ["i1"]], tokenizer, shuffle=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"b\.png"):
        list(dataset)
    resized = make_dataset(
        paths, [["i0"], ["i1"]], tokenizer, image_size=(8, 6)
    )
    assert next(iter(resized))[0].shape == (2, 8, 6, 3)


@pytest.mark.every_backend
def test_fit_consumes_the_dataset(tokenizer):
    dataset = make_dataset(
        make_images(10),
        make_references([2] * 10),
        tokenizer,
        batch_size=4,
        image_size=(4, 4),
        seed=0,
    )
    inputs = keras.Input((4, 4, 3), dtype="uint8")
    features = keras.layers.Rescaling(1 / 255)(inputs)
    features = keras.layers.GlobalAveragePooling2D()(features)
    outputs = keras.layers.Dense(tokenizer.sequence_length)(features)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    # The dataset shuffles itself; `fit` cannot shuffle a tf.data.Dataset.
    history = model.fit(dataset, epochs=2, shuffle=False, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert len(history.history["loss"]) == 2


def test_rejects_a_non_bool_drop_remainder(tokenizer):
    with pytest.raises(TypeError, match="drop_remainder=1"):
        make_dataset(make_images(1), [["i0"]], tokenizer, drop_remainder=1)
