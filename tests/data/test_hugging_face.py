import json

import keras
import numpy as np
import pytest
from PIL import Image

import keras_captioning
from keras_captioning.data import CaptionPyDataset
from keras_captioning.data import HuggingFaceCaptions
from keras_captioning.data import ImageFileError
from tests.data.caption_data_helpers import gradient_image
from tests.data.caption_data_helpers import make_references
from tests.data.caption_data_helpers import make_tokenizer

datasets = pytest.importorskip("datasets")

VOCABULARY = ["a", "red", "blue", "circle", "square"]


def write_pictures(folder, count=6):
    """PNG files of different sizes and modes, as a user's folder has."""
    paths = []
    for index in range(count):
        pixels = gradient_image(9 + index, 12 - index, seed=index)
        image = Image.fromarray(pixels)
        if index % 3 == 1:
            image = image.convert("L")
        elif index % 3 == 2:
            image = image.convert("RGBA")
        path = folder / f"{index:04d}.png"
        image.save(path)
        paths.append(str(path))
    return paths


def image_dataset(paths, references):
    return datasets.Dataset.from_dict(
        {"image": paths, "captions": references}
    ).cast_column("image", datasets.Image())


@pytest.mark.parametrize("image_size", [(5, 7), (16, 16)])
@pytest.mark.parametrize("reference_mode", ["all", "random"])
def test_batches_equal_those_of_the_same_files(
    tmp_path, image_size, reference_mode
):
    tokenizer = make_tokenizer()
    paths = write_pictures(tmp_path)
    references = make_references([2, 1, 3, 1, 2, 2])
    options = dict(
        batch_size=4,
        image_size=image_size,
        reference_mode=reference_mode,
        seed=3,
    )
    hugging_face = HuggingFaceCaptions(
        image_dataset(paths, references), tokenizer, **options
    )
    files = CaptionPyDataset(paths, references, tokenizer, **options)
    assert len(hugging_face) == len(files)
    for _ in range(2):  # two epochs: shuffling and draws agree too
        for index in range(len(files)):
            images, token_ids = hugging_face[index]
            file_images, file_token_ids = files[index]
            assert images.dtype == np.uint8
            np.testing.assert_array_equal(images, file_images)
            np.testing.assert_array_equal(token_ids, file_token_ids)
        hugging_face.on_epoch_end()
        files.on_epoch_end()


def test_images_and_references_for_evaluation(tmp_path):
    paths = write_pictures(tmp_path, 3)
    dataset = datasets.Dataset.from_dict(
        {
            "image": paths,
            "text": ["One.", "Two.", "Three."],
            "other": [1, 2, 3],
        }
    ).cast_column("image", datasets.Image())
    batches = HuggingFaceCaptions(
        dataset, image_size=(8, 8), targets="references"
    )
    assert batches.caption_column == "text"
    assert batches.references == [["One."], ["Two."], ["Three."]]
    images = batches.images
    assert len(images) == 3
    expected = CaptionPyDataset(
        paths,
        batches.references,
        make_tokenizer(),
        image_size=(8, 8),
        shuffle=False,
        batch_size=3,
    )[0][0]
    np.testing.assert_array_equal(images[0:3], expected)
    np.testing.assert_array_equal(images[2], expected[2])


def test_pil_images_and_bytes_in_memory():
    rng = np.random.default_rng(0)
    pictures = [
        Image.fromarray(rng.integers(0, 256, (10, 12, 3)).astype("uint8"))
        for _ in range(3)
    ]
    dataset = datasets.Dataset.from_dict(
        {"image": pictures, "caption": ["a red circle"] * 3}
    ).cast_column("image", datasets.Image())
    tokenizer = keras_captioning.text.CaptionTokenizer(VOCABULARY, max_length=4)
    batches = HuggingFaceCaptions(
        dataset, tokenizer, batch_size=3, shuffle=False
    )
    images, _ = batches[0]
    np.testing.assert_array_equal(
        images, np.stack([np.asarray(p) for p in pictures])
    )


def tiny_captioner():
    keras.utils.set_random_seed(0)
    captioner = keras_captioning.models.ImageCaptioner(
        VOCABULARY,
        max_length=4,
        decoder={
            "embedding_dim": 8,
            "units": 16,
            "conditioning": "init_inject",
        },
        feature_to_sequence={"units": 8},
    )
    captioner.compile()
    return captioner


def toy_dataset(count=8):
    rng = np.random.default_rng(0)
    pictures = [
        Image.fromarray(rng.integers(0, 256, (16, 16, 3)).astype("uint8"))
        for _ in range(count)
    ]
    captions = [
        ["a red circle", "a red square"] if i % 2 else ["a blue square"]
        for i in range(count)
    ]
    return datasets.Dataset.from_dict(
        {"image": pictures, "captions": captions}
    ).cast_column("image", datasets.Image())


@pytest.mark.large
def test_fit_self_critical_and_evaluation_train_and_score():
    captioner = tiny_captioner()
    dataset = toy_dataset()
    train = HuggingFaceCaptions(
        dataset, captioner.tokenizer, batch_size=4, seed=0
    )
    history = captioner.fit(train, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.all(np.isfinite(history.history["loss"]))
    scst = HuggingFaceCaptions(
        dataset, batch_size=4, targets="references", seed=0
    )
    history = captioner.fit_self_critical(
        scst, batch_size=4, num_samples=2, verbose=0
    )
    assert np.isfinite(history.history["loss"][0])
    scores = keras_captioning.metrics.evaluate_captioner(
        captioner, scst.images, scst.references, batch_size=4, verbose=0
    )
    assert set(scores) >= {"BLEU-4", "CIDEr-D"}
    assert all(np.isfinite(value) for value in scores.values())


@pytest.mark.every_backend
def test_a_streaming_dataset_trains_with_steps_per_epoch():
    captioner = tiny_captioner()
    stream = toy_dataset().to_iterable_dataset()
    batches = HuggingFaceCaptions(stream, captioner.tokenizer, batch_size=4)
    assert batches.num_batches is None
    seen = [batches[index][1].shape[0] for index in range(4)]
    # 12 (image, caption) rows in a pass: 4 + 4 + 4, then the next pass.
    assert seen == [4, 4, 4, 4]
    history = captioner.fit(batches, steps_per_epoch=3, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    with pytest.raises(TypeError, match="steps_per_epoch"):
        len(batches)
    with pytest.raises(TypeError, match="no length"):
        _ = batches.references


def test_an_imagefolder_on_disk_matches_load_captions(tmp_path):
    paths = write_pictures(tmp_path, 4)
    with open(tmp_path / "metadata.jsonl", "w") as file:
        for index, path in enumerate(paths):
            record = {
                "file_name": path.rsplit("/", 1)[1],
                "text": f"Photo {index}.",
            }
            file.write(json.dumps(record) + "\n")
    dataset = datasets.load_dataset(
        "imagefolder", data_dir=str(tmp_path), split="train"
    )
    batches = HuggingFaceCaptions(
        dataset, image_size=(6, 6), targets="references"
    )
    loaded = keras_captioning.datasets.load_captions(tmp_path)
    assert loaded.format == "imagefolder"
    order = sorted(range(4), key=lambda i: loaded.image_paths[i])
    assert sorted(batches.references) == sorted(loaded.references)
    by_caption = {refs[0]: i for i, refs in enumerate(batches.references)}
    files = CaptionPyDataset(
        loaded.image_paths,
        loaded.references,
        make_tokenizer(),
        image_size=(6, 6),
        shuffle=False,
        batch_size=4,
    )[0][0]
    for index in order:
        row = by_caption[loaded.references[index][0]]
        np.testing.assert_array_equal(batches.images[row], files[index])


def test_bad_datasets_raise(tmp_path):
    tokenizer = keras_captioning.text.CaptionTokenizer(VOCABULARY, max_length=4)
    dataset = toy_dataset(2)
    with pytest.raises(ValueError, match=r"no column 'picture'.*image_column"):
        HuggingFaceCaptions(dataset, tokenizer, image_column="picture")
    with pytest.raises(ValueError, match=r"holds the captions.*caption_column"):
        HuggingFaceCaptions(
            dataset.rename_column("captions", "label"), tokenizer
        )
    with pytest.raises(TypeError, match="CaptionTokenizer"):
        HuggingFaceCaptions(dataset)
    with pytest.raises(TypeError, match="datasets.Dataset"):
        HuggingFaceCaptions([1, 2], tokenizer)
    with pytest.raises(ValueError, match="targets='ids'"):
        HuggingFaceCaptions(dataset, tokenizer, targets="ids")
    empty = datasets.Dataset.from_dict(
        {"image": [None], "captions": [["a red circle", " "]]}
    )
    with pytest.raises(ValueError, match=r"Row 0 of the dataset's 'captions'"):
        HuggingFaceCaptions(empty, tokenizer)
    broken = datasets.Dataset.from_dict(
        {"image": [{"bytes": b"not an image", "path": None}], "text": ["a"]}
    ).cast_column("image", datasets.Image())
    batches = HuggingFaceCaptions(broken, tokenizer)
    with pytest.raises(ImageFileError, match="row 0 of the dataset"):
        batches[0]


# A further input form of the streaming test above: the large tier.
@pytest.mark.large
def test_a_tfds_coco_captions_split_trains_as_a_stream():
    import tensorflow_datasets as tfds

    captioner = tiny_captioner()
    with tfds.testing.mock_data(num_examples=3):
        split = tfds.load("coco_captions", split="train")
        batches = HuggingFaceCaptions(
            split, captioner.tokenizer, batch_size=4, image_size=(16, 16)
        )
        assert batches.caption_column == "captions"
        expected = [
            (
                example["image"],
                [text.decode() for text in example["captions"]["text"]],
            )
            for example in split.as_numpy_iterator()
        ]
        rows = [
            (image, caption) for image, texts in expected for caption in texts
        ]
        images, token_ids = batches[0]
        assert images.shape == (4, 16, 16, 3)
        for index in range(4):
            first = keras_captioning.data.CaptionPyDataset(
                rows[index][0][None],
                [[rows[index][1]]],
                captioner.tokenizer,
                image_size=(16, 16),
                shuffle=False,
            )[0]
            np.testing.assert_array_equal(images[index], first[0][0])
            np.testing.assert_array_equal(token_ids[index], first[1][0])
        history = captioner.fit(batches, steps_per_epoch=2, verbose=0)
        assert np.isfinite(history.history["loss"][0])


def write_jpegs(folder):
    """Photo-sized JPEGs (grey, RGB, one rotated by EXIF) that the reader
    decodes at a reduced DCT scale when the target size is small."""
    paths = []
    for index, (height, width) in enumerate(
        [(240, 320), (320, 240), (300, 400)]
    ):
        image = Image.fromarray(gradient_image(height, width, seed=index))
        exif = None
        if index == 1:
            image = image.convert("L")
        elif index == 2:
            exif = Image.Exif()
            exif[0x0112] = 6  # Orientation: rotate 90 degrees on display
        path = folder / f"{index:04d}.jpg"
        image.save(path, quality=90, **({"exif": exif} if exif else {}))
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("image_size", [(24, 32), (120, 160)])
def test_jpeg_bytes_give_the_pixels_of_the_files(tmp_path, image_size):
    paths = write_jpegs(tmp_path)
    encoded = []
    for path in paths:
        with open(path, "rb") as file:
            encoded.append({"bytes": file.read(), "path": None})
    references = make_references([1, 2, 1])
    dataset = datasets.Dataset.from_dict(
        {"image": encoded, "captions": references}
    ).cast_column("image", datasets.Image())
    tokenizer = make_tokenizer()
    options = dict(batch_size=3, image_size=image_size, shuffle=False)
    hugging_face = HuggingFaceCaptions(dataset, tokenizer, **options)
    files = CaptionPyDataset(paths, references, tokenizer, **options)
    expected = np.stack(
        [keras_captioning.data.read_image(path, image_size) for path in paths]
    )
    np.testing.assert_array_equal(hugging_face.images[:], expected)
    for index in range(len(files)):
        images, _ = hugging_face[index]
        file_images, _ = files[index]
        np.testing.assert_array_equal(images, file_images)
    # The draft decode is taken: a full decode then a resize differs.
    full = np.asarray(
        Image.open(paths[0])
        .convert("RGB")
        .resize(image_size[::-1], Image.BILINEAR)
    )
    assert image_size[0] > 100 or not np.array_equal(expected[0], full)
