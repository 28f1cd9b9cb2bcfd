import inspect
import json
import os
import subprocess
import sys
import textwrap

import hypothesis
import keras
import numpy as np
import pytest
from hypothesis import strategies as st

from keras_captioning.layers import CaptionDecoder
from keras_captioning.layers import FeatureToSequence
from keras_captioning.layers.caption_decoder import CONDITIONING_MODES
from keras_captioning.losses import CaptionCrossentropy
from keras_captioning.models import CaptioningTask
from keras_captioning.models import ImageCaptioner
from tests.models.conftest import CAPTIONS
from tests.models.conftest import VOCABULARY
from tests.models.conftest import colour_images
from tests.models.conftest import overfit
from tests.models.conftest import small_captioner

PAD, START, END, UNKNOWN = 0, 1, 2, 3


def test_tokenize_matches_the_public_contract():
    captioner = small_captioner()
    ids = captioner.tokenize(["A red square!", "green"])
    assert ids.shape == (2, captioner.max_length + 2)
    assert ids[0, 0] == START and ids[0, 4] == END
    assert ids[1, 2] == END and (ids[1, 3:] == PAD).all()
    assert captioner.detokenize(ids) == ["a red square", "green"]


def test_call_on_a_dict_gives_teacher_forced_logits():
    captioner = small_captioner()
    ids = captioner.tokenize(CAPTIONS)
    logits = captioner({"images": colour_images(), "token_ids": ids[:, :-1]})
    assert tuple(logits.shape) == (4, 7, len(captioner.vocabulary))


def test_image_captioner_generates_through_captioning_task():
    # ImageCaptioner is a CaptioningTask and adds no generation of its own:
    # `generate`, `caption` and the compiled-function hooks are the base's.
    assert issubclass(ImageCaptioner, CaptioningTask)
    assert isinstance(small_captioner(), CaptioningTask)
    for name in ("generate", "caption", "make_generate_function"):
        assert getattr(ImageCaptioner, name) is getattr(CaptioningTask, name)


def test_compile_defaults_mask_padding():
    captioner = small_captioner()
    captioner.compile()
    assert isinstance(captioner.loss, CaptionCrossentropy)
    images, token_ids = colour_images(), captioner.tokenize(CAPTIONS)
    targets = token_ids[:, 1:]
    real = targets != PAD
    # "a green circle" is padded after its end token.
    assert real.sum() == 25 and not real.all()
    # The model favours the pad token everywhere: counting the padded
    # positions would lower the loss and raise the accuracy.
    captioner.build({"images": images.shape, "token_ids": (None, None)})
    [bias] = [w for w in captioner.weights if w.path.endswith("logits/bias")]
    bias.assign(np.eye(len(captioner.vocabulary))[PAD] * 20.0)
    # The loss and accuracy by hand, over the real target tokens only.
    logits = keras.ops.convert_to_numpy(
        captioner({"images": images, "token_ids": token_ids[:, :-1]})
    ).astype("float64")
    log_probabilities = logits - np.log(
        np.exp(logits).sum(axis=-1, keepdims=True)
    )
    picked = np.take_along_axis(log_probabilities, targets[..., None], -1)
    correct = logits.argmax(axis=-1) == targets
    results = captioner.evaluate(
        images, token_ids, batch_size=4, verbose=0, return_dict=True
    )
    assert set(results) == {"loss", "accuracy"}
    np.testing.assert_allclose(
        results["loss"], -picked[..., 0][real].mean(), rtol=1e-5
    )
    np.testing.assert_allclose(results["accuracy"], correct[real].mean())
    # Averaging over every position, padding included, would give
    # something else.
    assert -picked[..., 0].mean() < results["loss"] - 1.0
    assert correct.mean() > results["accuracy"]
    history = captioner.fit(images, token_ids, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}


# A training that must learn: the large tier. The default tier trains the
# README's mode with its CNN in tests/layers/test_caption_decoder.py.
@pytest.mark.parametrize(
    "conditioning",
    [
        pytest.param("init_inject", marks=pytest.mark.large),
        pytest.param("attention", marks=pytest.mark.large),
    ],
)
def test_overfits_a_handful_of_pairs_and_captions_them(conditioning):
    keras.utils.set_random_seed(3)
    captioner = small_captioner(conditioning)
    history = overfit(captioner)
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]
    images = colour_images(seed=1)
    assert captioner.caption(images) == CAPTIONS
    assert captioner.caption(images, strategy="beam", beam_width=3) == CAPTIONS


def test_encoder_is_trained_jointly_by_default_and_can_be_frozen():
    for trainable in (True, False):
        captioner = small_captioner(encoder_trainable=trainable)
        captioner.build({"images": (None, 16, 16, 3), "token_ids": (None, 7)})
        before = [
            keras.ops.convert_to_numpy(v)
            for v in captioner.encoder.trainable_variables
        ]
        frozen = [
            keras.ops.convert_to_numpy(v) for v in captioner.encoder.weights
        ]
        # Which weights change, not how the step is traced.
        captioner.compile(run_eagerly=True)
        captioner.fit(
            colour_images(), captioner.tokenize(CAPTIONS), epochs=1, verbose=0
        )
        after = [
            keras.ops.convert_to_numpy(v) for v in captioner.encoder.weights
        ]
        changed = any(not np.allclose(a, b) for a, b in zip(frozen, after))
        assert changed == trainable
        assert bool(before) == trainable


def test_fit_accepts_tf_data_and_pydatasets():
    import tensorflow as tf

    captioner = small_captioner()
    captioner.compile(run_eagerly=True)  # the data forms, not the step
    images, ids = colour_images(), captioner.tokenize(CAPTIONS)
    dataset = tf.data.Dataset.from_tensor_slices((images, ids)).batch(2)
    history = captioner.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            rows = slice(2 * index, 2 * index + 2)
            return images[rows], ids[rows]

    history = captioner.fit(
        Batches(), validation_data=(images, ids), epochs=1, verbose=0
    )
    assert {"loss", "val_loss"} <= set(history.history)


def test_precomputed_features_with_no_encoder():
    captioner = ImageCaptioner(
        VOCABULARY,
        encoder=None,
        feature_to_sequence={"units": 8},
        decoder={"embedding_dim": 8, "units": 8},
        max_length=6,
    )
    features = np.random.rand(4, 5, 12).astype("float32")
    captioner.compile(run_eagerly=True)  # the data forms, not the step
    captioner.fit(features, captioner.tokenize(CAPTIONS), epochs=1, verbose=0)
    assert captioner.generate(features).shape == (4, 7)


def test_generation_outputs_are_well_formed(varied_captioner):
    outputs = varied_captioner.generate(
        colour_images(), strategy="sample", seed=3, return_scores=True
    )
    ids = outputs["token_ids"]
    assert ids.shape == (4, varied_captioner.max_length + 1)
    assert outputs["scores"].shape == (4,)
    assert ids.min() >= 0 and ids.max() < len(varied_captioner.vocabulary)
    for row in ids:
        ended = np.flatnonzero(row == END)
        words = row[: ended[0]] if ended.size else row
        assert not np.isin(words, [PAD, START, UNKNOWN, END]).any()
        if ended.size:
            assert (row[ended[0] + 1 :] == PAD).all()


@hypothesis.settings(deadline=None, max_examples=5)
@hypothesis.given(seed=st.integers(0, 2**16), batch=st.integers(1, 5))
def test_batch_order_is_preserved(varied_captioner, seed, batch):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (batch, 16, 16, 3)).astype("uint8")
    together = varied_captioner.generate(images, strategy="beam", beam_width=2)
    alone = [
        varied_captioner.generate(image[None], strategy="beam", beam_width=2)
        for image in images
    ]
    np.testing.assert_array_equal(together, np.concatenate(alone))


@hypothesis.settings(deadline=None, max_examples=5)
@hypothesis.given(seed=st.integers(0, 2**16))
def test_beam_width_one_is_greedy(varied_captioner, seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (3, 16, 16, 3)).astype("uint8")
    greedy = varied_captioner.generate(images, return_scores=True)
    beam = varied_captioner.generate(
        images, strategy="beam", beam_width=1, return_scores=True
    )
    np.testing.assert_array_equal(beam["token_ids"], greedy["token_ids"])
    np.testing.assert_allclose(beam["scores"], greedy["scores"], rtol=1e-5)


def test_all_beams_are_sorted_by_score(varied_captioner):
    outputs = varied_captioner.generate(
        colour_images(),
        strategy="beam",
        beam_width=3,
        return_all_beams=True,
        return_scores=True,
    )
    assert outputs["token_ids"].shape == (
        4,
        3,
        varied_captioner.max_length + 1,
    )
    scores = outputs["scores"]
    assert (np.diff(scores, axis=1) <= 1e-6).all()
    beams = varied_captioner.caption(
        colour_images(), strategy="beam", beam_width=3, return_all_beams=True
    )
    best = varied_captioner.caption(
        colour_images(), strategy="beam", beam_width=3
    )
    assert [captions[0] for captions in beams] == best
    assert len(set(best)) > 1


@pytest.mark.parametrize("strategy", ["greedy", "beam", "sample"])
def test_captions_never_exceed_max_length(strategy):
    captioner = small_captioner()  # untrained: it rarely ends on its own
    ids = captioner.generate(colour_images(), strategy=strategy, max_length=2)
    assert ids.shape == (4, 3)
    # Every row ends: its first end token is followed by padding only.
    for row in ids.tolist():
        assert END in row
        assert all(token == PAD for token in row[row.index(END) + 1 :])
    words = [
        len(caption.split())
        for caption in captioner.caption(
            colour_images(), strategy=strategy, max_length=2
        )
    ]
    assert max(words) <= 2


def test_sampling_is_reproducible_with_a_seed(varied_captioner):
    images = colour_images()
    first = varied_captioner.generate(images, strategy="sample", seed=11)
    second = varied_captioner.generate(images, strategy="sample", seed=11)
    np.testing.assert_array_equal(first, second)


def test_attention_scores_come_back_for_attention_decoders():
    captioner = small_captioner("attention")
    outputs = captioner.generate(colour_images(), return_attention_scores=True)
    weights = outputs["attention_scores"]
    assert weights.shape == (4, captioner.max_length + 1, 16)
    lengths = (outputs["token_ids"] != PAD).sum(axis=1)
    for row, length in enumerate(lengths):
        np.testing.assert_allclose(weights[row, :length].sum(-1), 1, rtol=1e-4)


def test_config_round_trip_without_weights():
    captioner = small_captioner("attention")
    clone = ImageCaptioner.from_config(captioner.get_config())
    assert clone.vocabulary == captioner.vocabulary
    assert clone.decoder.get_config() == captioner.decoder.get_config()
    assert clone.max_length == captioner.max_length


_LOAD_SCRIPT = textwrap.dedent(
    """
    import json
    import sys
    import numpy as np
    import keras
    import keras_captioning  # registers the classes; nothing else is needed

    folder = sys.argv[1]
    inputs = dict(np.load(folder + "/inputs.npz"))
    expected = np.load(folder + "/logits.npz")
    for mode in expected.files:
        model = keras.saving.load_model(f"{folder}/{mode}.keras")
        logits = keras.ops.convert_to_numpy(model(inputs))
        np.testing.assert_allclose(logits, expected[mode], atol=1e-5)
    # The last model also captions as before and goes on training.
    captions = json.load(open(folder + "/captions.json"))
    generated, training = captions["generated"], captions["training"]
    assert model.caption(inputs["images"]) == generated
    assert model.compiled  # compile state travels in the .keras file
    assert model.jit_compile is False
    ids = model.tokenize(training)
    before = model.evaluate(inputs["images"], ids, verbose=0)[0]
    model.fit(inputs["images"], ids, epochs=3, verbose=0)
    assert model.evaluate(inputs["images"], ids, verbose=0)[0] < before
    print("loaded", len(expected.files))
    """
)


# A mode that reads the image once and one that attends to it by default;
# every mode with --run_large.
@pytest.mark.parametrize(
    "modes",
    [
        pytest.param(("init_inject", "attention"), id="two"),
        pytest.param(CONDITIONING_MODES, id="every", marks=pytest.mark.large),
    ],
)
def test_saved_models_load_in_a_fresh_process(tmp_path, modes):
    images = colour_images()
    inputs = {
        "images": images,
        "token_ids": small_captioner().tokenize(CAPTIONS),
    }
    logits = {}
    for mode in modes:
        captioner = small_captioner(mode)
        logits[mode] = keras.ops.convert_to_numpy(captioner(inputs))
        # Without XLA, which the loaded model's captions then skip too.
        captioner.compile(label_smoothing=0.1, jit_compile=False)
        captioner.save(tmp_path / f"{mode}.keras")
    # JSON keeps empty captions, which an untrained model may well produce.
    (tmp_path / "captions.json").write_text(
        json.dumps(
            {"generated": captioner.caption(images), "training": CAPTIONS}
        )
    )
    np.savez(tmp_path / "inputs.npz", **inputs)
    np.savez(tmp_path / "logits.npz", **logits)
    (tmp_path / "load.py").write_text(_LOAD_SCRIPT)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "load.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"loaded {len(modes)}" in result.stdout


def test_instances_of_the_layers_are_used_as_given():
    feature_to_sequence = FeatureToSequence(units=4)
    decoder = CaptionDecoder(len(VOCABULARY) + 4, embedding_dim=4, units=4)
    captioner = ImageCaptioner(
        VOCABULARY, feature_to_sequence=feature_to_sequence, decoder=decoder
    )
    assert captioner.decoder is decoder
    assert captioner.feature_to_sequence is feature_to_sequence


def test_named_backbone_builds_with_local_weights(tmp_path):
    reference = ImageCaptioner(
        VOCABULARY,
        encoder="mobilenet_v3_small",
        image_size=(64, 64),
        decoder={"embedding_dim": 8, "units": 8},
    )
    path = str(tmp_path / "backbone.weights.h5")
    reference.encoder.save_weights(path)
    captioner = ImageCaptioner(
        VOCABULARY,
        encoder="mobilenet_v3_small",
        image_size=(64, 64),
        encoder_weights=path,
        decoder={"embedding_dim": 8, "units": 8},
    )
    for loaded, saved in zip(
        captioner.encoder.weights, reference.encoder.weights
    ):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(loaded),
            keras.ops.convert_to_numpy(saved),
        )
    images = np.zeros((1, 100, 80, 3), "uint8")  # resized inside the model
    token_ids = captioner.tokenize(["a red square"])
    logits = captioner({"images": images, "token_ids": token_ids})
    assert tuple(logits.shape) == (1, 22, len(captioner.vocabulary))


def test_a_missing_local_weights_file_is_named():
    # ImageNet weights (downloaded through Keras's cache) are tested offline
    # in tests/models/test_backbones.py.
    with pytest.raises(ValueError, match="exist"):
        ImageCaptioner(
            VOCABULARY, encoder="resnet50", encoder_weights="/no/such.h5"
        )


def test_unknown_encoder_name_lists_the_choices():
    with pytest.raises(ValueError, match="simple_cnn"):
        ImageCaptioner(VOCABULARY, encoder="vgg99")


@pytest.mark.parametrize(
    "images, error, message",
    [
        (np.zeros((2, 16, 16), "uint8"), ValueError, "height, width, 3"),
        (np.zeros((2, 16, 16, 4), "uint8"), ValueError, "height, width, 3"),
        (np.zeros((2, 16, 16, 3), "int64"), TypeError, "uint8 or float"),
        (np.zeros((0, 16, 16, 3), "uint8"), ValueError, "empty"),
    ],
)
def test_bad_images_are_clear_errors(images, error, message):
    captioner = small_captioner()
    with pytest.raises(error, match=message):
        captioner.generate(images)


def test_bad_generation_options_are_clear_errors():
    captioner = small_captioner()
    images = colour_images()
    with pytest.raises(ValueError, match="greedy"):
        captioner.generate(images, strategy="nucleus")
    with pytest.raises(ValueError, match="beam_width"):
        captioner.generate(images, strategy="beam", beam_width=0)
    with pytest.raises(ValueError, match="conditioning='attention'"):
        captioner.generate(images, return_attention_scores=True)


def test_bad_training_data_are_clear_errors():
    captioner = small_captioner()
    captioner.compile()
    images = colour_images()
    with pytest.raises(ValueError, match="same number"):
        captioner.fit(images, captioner.tokenize(CAPTIONS[:2]), verbose=0)
    with pytest.raises(TypeError, match="integer token ids"):
        captioner.fit(images, np.zeros((4, 8), "float32"), verbose=0)
    with pytest.raises(ValueError, match="token ids"):
        captioner.fit(images, verbose=0)


def test_vocabulary_problems_are_clear_errors():
    with pytest.raises(ValueError, match="uplicate"):
        ImageCaptioner(["a", "b", "a"])
    with pytest.raises(ValueError, match="vocabulary_size"):
        ImageCaptioner(
            VOCABULARY, decoder=CaptionDecoder(5, embedding_dim=4, units=4)
        )


def test_long_captions_warn_and_unknown_words_are_counted():
    captioner = small_captioner()
    with pytest.warns(UserWarning, match="truncat"):
        ids = captioner.tokenize(["a red square " * 5])
    assert (ids[0] != PAD).sum() == captioner.max_length + 2
    with pytest.warns(UserWarning):
        captioner.tokenize(["a purple square"])
    assert captioner.tokenizer.unknown_word_counts["purple"] == 1


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="ExportArchive tracking"
)
def test_export_archive_tracks_a_captioner_after_caption(tmp_path):
    captioner = small_captioner()
    captioner.caption(colour_images(), strategy="beam", beam_width=2)
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    # The function cache is not tracked state: tracking and writing out a
    # captioner that has cached functions works.
    archive.track(captioner)
    archive.add_endpoint(
        "encode",
        lambda images: captioner.encode_images(images),
        input_signature=[tf.TensorSpec((None, 16, 16, 3), tf.uint8)],
    )
    archive.write_out(str(tmp_path / "archive"), verbose=False)
    restored = tf.saved_model.load(str(tmp_path / "archive"))
    images = colour_images()
    np.testing.assert_allclose(
        restored.encode(tf.constant(images)).numpy(),
        keras.ops.convert_to_numpy(captioner.encode_images(images)),
        rtol=1e-5,
        atol=1e-5,
    )
    # And the cache still serves the function made before `track`.
    captioner.caption(images, strategy="beam", beam_width=2)
    assert len(captioner._generate_functions) == 1


def test_compiled_functions_are_cached_per_sampler_configuration():
    from keras_captioning import generation

    captioner = small_captioner()
    # Eager functions cache like compiled ones, without compiling 10 times.
    captioner.compile(run_eagerly=True)
    images = colour_images()[:2]
    cache = captioner._generate_functions
    captioner.generate(images, strategy="beam", beam_width=2, batch_size=2)
    captioner.generate(images, strategy=generation.BeamSampler(2), batch_size=2)
    assert len(cache) == 1  # the same configuration shares one function
    # Unseeded samplers by name keep drawing from one seed stream.
    first = captioner.generate(images, strategy="sample", batch_size=2)
    second = captioner.generate(images, strategy="sample", batch_size=2)
    assert len(cache) == 2
    assert (first != second).any()
    # Two unseeded instances never share a function, nor a seed.
    samplers = [generation.RandomSampler(), generation.RandomSampler()]
    for sampler in samplers:
        before = keras.ops.convert_to_numpy(sampler.seed_generator.state)
        captioner.generate(images, strategy=sampler, batch_size=2)
        after = keras.ops.convert_to_numpy(sampler.seed_generator.state)
        assert (before != after).any()
    assert len(cache) == 4
    # The cache is bounded: the least recently used functions go.
    for top_k in range(1, 8):
        captioner.generate(
            images, strategy="sample", top_k=top_k, seed=1, batch_size=2
        )
    assert len(cache) == 8


def test_run_eagerly_gives_a_plain_function_with_the_same_captions():
    from keras_captioning import generation

    keras.utils.set_random_seed(1)
    captioner = small_captioner("attention")
    captioner.compile()  # XLA, the default
    images = colour_images()
    compiled = captioner.generate(
        images, strategy="beam", beam_width=2, return_scores=True
    )
    captioner.compile(run_eagerly=True)
    function = captioner.make_generate_function(generation.GreedySampler())
    # Plain Python: a debugger steps into `generate_step`.
    assert inspect.isfunction(function)
    if keras.backend.backend() == "tensorflow":
        captioner.compile()
        compiled_function = captioner.make_generate_function(
            generation.GreedySampler()
        )
        assert not inspect.isfunction(compiled_function)  # a tf.function
        captioner.compile(run_eagerly=True)
    outputs = function(images)
    assert keras.ops.convert_to_numpy(outputs["token_ids"]).shape == (4, 7)
    eager = captioner.generate(
        images, strategy="beam", beam_width=2, return_scores=True
    )
    np.testing.assert_array_equal(eager["token_ids"], compiled["token_ids"])
    np.testing.assert_allclose(eager["scores"], compiled["scores"], rtol=1e-4)
    captioner.compile(jit_compile=False)
    no_xla = captioner.generate(images, strategy="beam", beam_width=2)
    np.testing.assert_array_equal(no_xla, compiled["token_ids"])


def test_call_with_cache_is_the_hook_generation_steps_through():
    red = VOCABULARY.index("red") + 4

    class AlwaysRed(ImageCaptioner):
        def call_with_cache(self, token_ids, cache):
            logits, cache, attention = super().call_with_cache(token_ids, cache)
            bias = keras.ops.where(
                keras.ops.arange(logits.shape[-1]) == red, 1e3, 0.0
            )
            return logits + keras.ops.cast(bias, logits.dtype), cache, attention

    captioner = AlwaysRed.from_config(small_captioner().get_config())
    outputs = captioner.generate(colour_images(), return_scores=True)
    # Six words of "red", then the end token the sampler forces.
    assert (
        captioner.detokenize(outputs["token_ids"]) == ["red " * 5 + "red"] * 4
    )
    assert (outputs["token_ids"][:, -1] == END).all()
    step = captioner.generate_step(
        colour_images()[:1], generation_sampler(), max_length=2
    )
    assert sorted(step) == ["scores", "token_ids"]
    assert keras.ops.convert_to_numpy(step["token_ids"]).tolist() == [
        [red, red, END]
    ]


def generation_sampler():
    from keras_captioning import generation

    return generation.GreedySampler()


def test_fit_on_datasets_and_generators_does_not_warn_about_shuffle():
    import warnings

    captioner = small_captioner()
    captioner.compile(run_eagerly=True)  # the data forms, not the step
    images, ids = colour_images(), captioner.tokenize(CAPTIONS)
    data = [(images[(i := 2 * k) : i + 2], ids[i : i + 2]) for k in (0, 1)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        captioner.fit((batch for batch in data), epochs=1, verbose=0)
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            dataset = tf.data.Dataset.from_tensor_slices((images, ids))
            captioner.fit(dataset.batch(2), epochs=1, verbose=0)
    assert not [w for w in caught if "shuffle" in str(w.message)]


def test_attention_scores_error_names_every_mode_that_returns_them():
    from keras_captioning.layers import conditioning

    captioner = small_captioner()  # init_inject returns no attention
    assert not captioner.returns_attention_scores
    with pytest.raises(ValueError, match="return_attention_scores") as info:
        captioner.generate(colour_images(), return_attention_scores=True)
    named = str(info.value).split("(", 1)[1].split(")", 1)[0]
    for name in conditioning.names():
        returns = conditioning.get(name).returns_attention_scores
        assert (f"conditioning={name!r}" in named) == returns, name
    assert "conditioning='init_inject'" in str(info.value)
