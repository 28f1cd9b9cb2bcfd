"""`ImageCaptioner.fit_on_features`: the cached-features recipe."""

import hypothesis
import keras
import numpy as np
import pytest
from hypothesis import strategies as st

import keras_captioning
from keras_captioning.models._feature_training import FeatureRows

VOCABULARY = ["a", "red", "blue", "circle", "square"]
REFERENCES = [["a red circle"], ["a blue square", "a square"]] * 2


def make_captioner(seed=0):
    keras.utils.set_random_seed(seed)
    captioner = keras_captioning.models.ImageCaptioner(
        VOCABULARY,
        max_length=4,
        image_size=(16, 16),
        encoder_trainable=False,
        decoder={"embedding_dim": 8, "units": 8},
        feature_to_sequence={"units": 8},
    )
    captioner.compile()
    return captioner


def make_images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (4, 16, 16, 3), dtype="uint8")


def test_trains_the_decoder_the_full_model_then_uses(tmp_path):
    captioner = make_captioner()
    images = make_images()
    captioner.build({"images": (None, 16, 16, 3), "token_ids": (None, None)})
    encoder_before = [w.copy() for w in captioner.encoder.get_weights()]
    decoder_before = [w.copy() for w in captioner.decoder.get_weights()]
    history = captioner.fit_on_features(
        images,
        REFERENCES,
        tmp_path / "cache",
        validation_data=(images[:2], REFERENCES[:2]),
        batch_size=2,
        epochs=3,
        seed=0,
        verbose=0,
    )
    losses = history.history["loss"]
    assert len(losses) == 3 and "val_loss" in history.history
    assert losses[-1] < losses[0]
    # The decoder trained, the encoder did not.
    for before, after in zip(encoder_before, captioner.encoder.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert any(
        not np.array_equal(before, after)
        for before, after in zip(
            decoder_before, captioner.decoder.get_weights()
        )
    )
    # From images, the full model computes what its trained layers compute
    # on the cached features.
    (features,) = [
        np.load(path)[:2]
        for path in (tmp_path / "cache").glob("features-*.npy")
        if len(np.load(path)) == len(images)
    ]
    token_ids = captioner.tokenize(["a red circle", "a square"])
    from_images = captioner(
        {"images": images[:2], "token_ids": token_ids[:, :-1]}
    )
    from_features = captioner.decoder(
        token_ids[:, :-1], captioner.feature_to_sequence(features)
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(from_images),
        keras.ops.convert_to_numpy(from_features),
        rtol=1e-5,
        atol=1e-5,
    )
    assert all(isinstance(c, str) for c in captioner.caption(images))
    # The compiled optimizer is ready for fine-tuning end to end.
    assert captioner.optimizer.built


class StopAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("interrupted")


class KeepWeights(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.at_end = {}
        self.at_begin = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.at_begin[epoch] = self.model.decoder.get_weights()

    def on_epoch_end(self, epoch, logs=None):
        self.at_end[epoch] = self.model.decoder.get_weights()


def test_resumes_with_backup_and_restore(tmp_path):
    images = make_images()

    def fit(captioner, *callbacks):
        return captioner.fit_on_features(
            images,
            REFERENCES,
            tmp_path / "cache",
            batch_size=2,
            epochs=4,
            seed=0,
            verbose=0,
            callbacks=[
                keras.callbacks.BackupAndRestore(tmp_path / "backup"),
                *callbacks,
            ],
        )

    first = KeepWeights()
    with pytest.raises(RuntimeError, match="interrupted"):
        fit(make_captioner(), first, StopAt(2))
    # A new captioner, as after a killed process.
    resumed = KeepWeights()
    history = fit(make_captioner(seed=1), resumed)
    # It starts at the epoch after the last backup, from its weights.
    assert history.epoch == [2, 3]
    for saved, restored in zip(first.at_end[1], resumed.at_begin[2]):
        np.testing.assert_array_equal(saved, restored)


def test_refuses_what_it_cannot_train(tmp_path):
    features = keras_captioning.models.ImageCaptioner(
        VOCABULARY, encoder=None, max_length=4
    )
    features.compile()
    with pytest.raises(ValueError, match="encoder=None"):
        features.fit_on_features(make_images(), REFERENCES, tmp_path)
    uncompiled = keras_captioning.models.ImageCaptioner(
        VOCABULARY, max_length=4, image_size=(16, 16)
    )
    with pytest.raises(ValueError, match="compiled"):
        uncompiled.fit_on_features(make_images(), REFERENCES, tmp_path)
    with pytest.raises(ValueError, match="validation_data"):
        make_captioner().fit_on_features(
            make_images(), REFERENCES, tmp_path, validation_data=make_images()
        )


@hypothesis.settings(deadline=None, max_examples=25)
@hypothesis.given(
    counts=st.lists(st.integers(1, 5), min_size=1, max_size=8),
    batch_size=st.integers(1, 7),
    shuffle=st.booleans(),
    seed=st.one_of(st.none(), st.integers(0, 100)),
)
def test_feature_rows_pair_features_and_captions(
    counts, batch_size, shuffle, seed
):
    vocabulary = [f"w{image}" for image in range(len(counts))]
    tokenizer = keras_captioning.text.CaptionTokenizer(vocabulary, 5)
    # Caption k of image i is the word "wi" written k + 1 times.
    references = [
        [" ".join([f"w{image}"] * (k + 1)) for k in range(count)]
        for image, count in enumerate(counts)
    ]
    features = np.arange(len(counts), dtype="float32")[:, None] + np.zeros(
        (1, 3), "float32"
    )
    rows = FeatureRows(
        features, references, tokenizer, batch_size, shuffle, seed
    )
    assert len(rows) == -(-sum(counts) // batch_size)
    for _ in range(2):  # Two epochs.
        seen = []
        for index in range(len(rows)):
            batch_features, token_ids = rows[index]
            assert len(batch_features) == len(token_ids) <= batch_size
            for row, caption in zip(
                batch_features, tokenizer.detokenize(token_ids)
            ):
                # Every caption comes with the features of its own image.
                assert set(caption.split()) == {f"w{int(row[0])}"}
                seen.append(caption)
        # One epoch serves every (image, caption) pair exactly once.
        assert sorted(seen) == sorted(c for cs in references for c in cs)
        rows.on_epoch_end()
