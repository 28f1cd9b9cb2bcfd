"""`train_captioner` trains on image files end to end or on cached
features, and resumes from its backup."""

import keras
import numpy as np
import pytest
from PIL import Image

import keras_captioning
from keras_captioning.callbacks import backed_up_epochs
from tests.captioners import VOCABULARY
from tests.captioners import untrained_captioner


def tiny_captioner():
    captioner = untrained_captioner(scale=1)
    captioner.compile()
    return captioner


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    paths, references = [], []
    for index, colour in enumerate(("red", "blue", "red", "blue")):
        pixels = np.zeros((20, 24, 3), "uint8")
        pixels[..., 0 if colour == "red" else 2] = 200 + index
        path = str(root / f"{index}.png")
        Image.fromarray(pixels).save(path)
        paths.append(path)
        references.append([f"a {colour} square"])
    return paths, references


@pytest.mark.parametrize("cached", [False, True], ids=["files", "cached"])
def test_trains_with_validation_and_deletes_its_backup(split, tmp_path, cached):
    backup = tmp_path / "backup"
    history = keras_captioning.training.train_captioner(
        tiny_captioner(),
        split,
        split,
        epochs=2,
        batch_size=2,
        seed=0,
        cache_dir=tmp_path / "cache" if cached else None,
        backup_dir=backup,
        verbose=0,
    )
    assert len(history.history["val_loss"]) == 2
    assert not backup.exists()  # A finished run deletes its backup.
    assert (tmp_path / "cache").exists() == cached


def test_goes_on_after_the_epochs_its_backup_keeps(split, tmp_path):
    backup = str(tmp_path / "backup")
    # A run killed after its first epoch leaves this backup behind.
    killed = tiny_captioner()
    killed.build({"images": (None, 16, 16, 3), "token_ids": (None, None)})
    dataset = keras_captioning.data.make_dataset(
        *split, killed.tokenizer, batch_size=2, image_size=(16, 16), seed=0
    )
    kept = keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False)
    killed.fit(dataset, epochs=1, verbose=0, callbacks=[kept])
    assert backed_up_epochs(backup) == 1
    resumed = []
    history = keras_captioning.training.train_captioner(
        tiny_captioner(),
        split,
        epochs=3,
        batch_size=2,
        seed=0,
        backup_dir=backup,
        on_resume=resumed.append,
        verbose=0,
    )
    assert resumed == [1]
    assert len(history.history["loss"]) == 2  # Epochs 2 and 3.


def test_refuses_a_captioner_without_an_encoder(split):
    captioner = keras_captioning.models.ImageCaptioner(VOCABULARY, encoder=None)
    with pytest.raises(ValueError, match="encoder"):
        keras_captioning.training.train_captioner(captioner, split)
