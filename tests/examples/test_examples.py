"""The example scripts run top to bottom on tiny settings.

Each example is loaded from `examples/` as a module and its `main(argv)` is
called with flags that keep it to a few seconds, writing into `tmp_path`.
"""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

import keras_captioning
import keras_captioning.cli.train
from keras_captioning.datasets import shapes

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
NAMES = (
    "train_shapes",
    "seed_architecture",
    "train_karpathy",
    "caption_images",
)


def load_example(name):
    spec = importlib.util.spec_from_file_location(
        f"example_{name}", EXAMPLES / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", NAMES)
def test_help_describes_the_options(name, capsys):
    module = load_example(name)
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    output = capsys.readouterr().out
    assert output.startswith("usage:")
    assert "--" in output


@pytest.mark.large
def test_train_shapes_help_runs_as_a_script():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "train_shapes.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr
    for flag in ("--conditioning", "--epochs", "--output-dir", "--blind"):
        assert flag in result.stdout


# ---------------------------------------------------------------- shapes


@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory):
    """One tiny attention run of train_shapes, shared by several tests."""
    output_dir = tmp_path_factory.mktemp("shapes")
    keras.utils.clear_session(free_memory=False)
    result = load_example("train_shapes").main(
        [
            "--epochs=1",
            "--num-train=32",
            "--num-validation=8",
            "--num-test=6",
            "--batch-size=32",
            "--num-examples=3",
            "--verbose=0",
            f"--output-dir={output_dir}",
        ]
    )
    return output_dir, result


def test_train_shapes_writes_model_figures_and_scores(shapes_run, capsys):
    output_dir, result = shapes_run
    for name in ("captioner.keras", "captions.png", "history.png"):
        assert (output_dir / name).stat().st_size > 0
    # The default conditioning is attention, so the map of every word too.
    assert (output_dir / "attention.png").stat().st_size > 0
    assert set(result["history"]) >= {"loss", "val_loss"}
    assert len(result["captions"]) == 6
    assert all(isinstance(caption, str) for caption in result["captions"])
    for scores in (result["scores"], result["baseline_scores"]):
        assert 0.0 <= scores["BLEU-4"] <= 1.0
        assert scores["CIDEr-D"] >= 0.0
        for key in ("object_f1", "entirely_right", "fact_accuracy"):
            assert 0.0 <= scores[key] <= 1.0
    assert 0.0 <= result["scores"]["ends_properly"] <= 1.0
    assert result["self_critical_scores"] is None
    assert 0 < result["train_seconds"] < result["total_seconds"]


@pytest.mark.large
@pytest.mark.slow
def test_train_shapes_self_critical_phase(tmp_path, capsys):
    keras.utils.clear_session(free_memory=False)
    result = load_example("train_shapes").main(
        [
            "--epochs=1",
            "--num-train=16",
            "--num-validation=4",
            "--num-test=4",
            "--batch-size=16",
            "--num-examples=1",
            "--self-critical=0.001",
            "--self-critical-batch-size=4",
            "--verbose=0",
            f"--output-dir={tmp_path}",
        ]
    )
    scores = result["self_critical_scores"]
    assert set(scores) >= {"CIDEr-D", "object_f1", "ends_properly"}
    # The time limit stops after the first step, then validation runs.
    history = result["self_critical_history"]
    assert len(history["reward"]) == 1
    assert "val_CIDEr-D" in history
    assert result["self_critical_seconds"] > 0
    printed = capsys.readouterr().out
    for line in ("model:", "self-critical:", "baseline:"):
        assert line in printed
    assert "objects P/R/F1" in printed and "ends properly" in printed


def test_train_shapes_baseline_is_the_most_common_caption():
    module = load_example("train_shapes")
    references = [["a b", "c d"], ["c d", "e f"], ["e f", "c d"]]
    assert module.most_common_caption(references) == "c d"
    # Ties go to the alphabetically first caption.
    assert module.most_common_caption([["b"], ["a"]]) == "a"


def test_train_shapes_saved_model_captions_like_the_trained_one(shapes_run):
    output_dir, result = shapes_run
    loaded = keras.saving.load_model(output_dir / "captioner.keras")
    images, _ = shapes.load_data("test", num_images=6, image_size=48)
    assert loaded.caption(images) == result["captions"]


def test_train_shapes_blind_images_are_blank():
    module = load_example("train_shapes")
    images, references = module.load_split("test", 2, 48, 0, blind=True)
    assert images.shape == (2, 48, 48, 3) and not images.any()
    # The captions are those of the real images.
    assert references == shapes.load_data("test", num_images=2)[1]


@pytest.mark.parametrize(
    "conditioning",
    ["init_inject", pytest.param("merge", marks=pytest.mark.large)],
)
def test_train_shapes_one_vector_modes_keep_the_layout(conditioning):
    module = load_example("train_shapes")
    captioner = module.build_captioner(["a", "red"], 4, conditioning)
    images = np.zeros((2, 48, 48, 3), "uint8")
    # The 3x3 map is flattened into one step, so averaging over steps
    # (what these modes do) cannot mix up the cells.
    assert tuple(captioner.encode_images(images).shape) == (2, 1, 256)
    attention = module.build_captioner(["a", "red"], 4, "attention")
    assert tuple(attention.encode_images(images).shape) == (2, 9, 256)


def test_train_shapes_arguments():
    module = load_example("train_shapes")
    assert module.parse_args([]).output_dir == os.path.join("outputs", "shapes")
    assert module.parse_args(["--blind"]).output_dir == os.path.join(
        "outputs", "shapes-blind"
    )
    for bad in (["--epochs=0"], ["--image-size=32"], ["--conditioning=x"]):
        with pytest.raises(SystemExit) as exit_info:
            module.parse_args(bad)
        assert exit_info.value.code == 2


# -------------------------------------------------------- caption_images


def write_pngs(folder, images):
    paths = []
    for index, image in enumerate(images):
        path = folder / f"image{index}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    return paths


def printed_captions(output):
    return [
        line.split(": ", 1)[1] for line in output.splitlines() if ": " in line
    ]


def test_caption_images_matches_the_model_on_the_same_images(
    shapes_run, tmp_path, capsys
):
    output_dir, result = shapes_run
    images, _ = shapes.load_data("test", num_images=3, image_size=48)
    paths = write_pngs(tmp_path, images)
    code = load_example("caption_images").main(
        [str(output_dir / "captioner.keras"), *paths]
    )
    assert code == 0
    output = capsys.readouterr().out
    assert "Images resized to 48x48." in output
    captions = printed_captions(output)
    assert captions == result["captions"][:3]
    for path, caption in zip(paths, captions):
        assert f"{path}: {caption}" in output


def test_caption_images_resizes_to_the_training_size(
    shapes_run, tmp_path, capsys, monkeypatch
):
    output_dir, _ = shapes_run
    module = load_example("caption_images")
    small, _ = shapes.load_data("test", num_images=1, image_size=48)
    large, _ = shapes.load_data("test", num_images=1, image_size=96)
    paths = write_pngs(tmp_path, np.concatenate([small, small]))
    large_path = tmp_path / "large.png"
    Image.fromarray(large[0]).save(large_path)
    model_path = str(output_dir / "captioner.keras")
    # What the command hands the model. (The model takes any size, and one
    # trained for an epoch says the same words of every scene, so its
    # captions cannot show the resize.)
    batches = []
    caption = keras_captioning.models.ImageCaptioner.caption

    def recording_caption(captioner, images, **options):
        batches.append(np.array(images))
        return caption(captioner, images, **options)

    monkeypatch.setattr(
        keras_captioning.models.ImageCaptioner, "caption", recording_caption
    )
    # A 96x96 image is read at 48x48 and batched with a 48x48 one.
    code = module.main(
        [model_path, paths[0], str(large_path), "--strategy=beam"]
    )
    assert code == 0
    output = capsys.readouterr().out
    assert "Images resized to 48x48." in output
    assert len(printed_captions(output)) == 2
    [batch] = batches
    assert batch.shape == (2, 48, 48, 3)
    np.testing.assert_array_equal(batch[0], small[0])
    # The whole 96x96 scene shrunk, not a corner of it: close to the same
    # scene drawn at 48x48 (mean difference about 7 of 255; a 48x48 corner
    # differs by 25, another scene by 20 to 31).
    difference = np.abs(batch[1].astype("int32") - small[0]).mean()
    assert difference < 12, difference


def test_caption_images_reports_missing_files_and_goes_on(
    shapes_run, tmp_path, capsys
):
    output_dir, result = shapes_run
    images, _ = shapes.load_data("test", num_images=1, image_size=48)
    paths = write_pngs(tmp_path, images)
    missing = str(tmp_path / "no.png")
    # Like `keras-captioning caption`: the others captioned, exit code 1.
    code = load_example("caption_images").main(
        [str(output_dir / "captioner.keras"), missing, *paths]
    )
    assert code == 1
    captured = capsys.readouterr()
    assert printed_captions(captured.out) == result["captions"][:1]
    error = captured.err.strip().splitlines()
    assert error == [f"Cannot read the image file {missing!r}: no such file."]


def test_caption_images_missing_model_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_example("caption_images").main(
            [str(tmp_path / "no.keras"), str(tmp_path / "a.png")]
        )
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "no such model file" in error[0]


def test_caption_images_uses_only_public_names():
    source = (EXAMPLES / "caption_images.py").read_text()
    imports = [
        line
        for line in source.splitlines()
        if line.startswith(("import ", "from "))
    ]
    assert imports and not any("._" in line for line in imports)
    assert "keras_captioning.cli" not in source


# ------------------------------------------------------ seed_architecture


def test_seed_architecture_trains_the_cnn_and_writes_a_caption():
    module = load_example("seed_architecture")
    result = module.main(
        [
            "--image-size=48",
            "--filters",
            "8",
            "16",
            "--num-train=16",
            "--epochs=1",
            "--batch-size=16",
            "--conditioning=par_inject",
            "--verbose=0",
        ]
    )
    # Joint training: the caption loss moved the first convolution.
    assert result["conv_change"] > 0
    assert isinstance(result["caption"], str)
    assert len(result["caption"].split()) <= 14


def test_seed_architecture_step_loop_agrees_with_the_full_model():
    """The word-by-word loop writes what the teacher-forced model predicts."""
    module = load_example("seed_architecture")
    vocabulary = ["a", "red", "blue", "circle", "square", "and"]
    tokenizer = keras_captioning.text.CaptionTokenizer(vocabulary, 6)
    model, encoder, decoder = module.build_model(
        48, [8, 16], tokenizer.vocabulary_size, "attention"
    )
    image = np.random.default_rng(0).integers(0, 256, (48, 48, 3), "uint8")
    caption = module.caption_word_by_word(encoder, decoder, tokenizer, image)
    words = caption.split()
    token_ids = np.array(
        [[tokenizer.start_id] + [tokenizer.vocabulary.index(w) for w in words]]
    )
    logits = keras.ops.convert_to_numpy(model([image[None], token_ids]))[0]
    banned = [tokenizer.pad_id, tokenizer.start_id, tokenizer.unknown_id]
    logits[:, banned] = -np.inf
    predicted = np.argmax(logits, axis=-1).tolist()
    # Each step's word is the model's best next word after the ones before.
    assert predicted[: len(words)] == token_ids[0, 1:].tolist()
    if len(words) < tokenizer.max_length:
        # The loop stopped because the end token came next.
        assert predicted[len(words)] == tokenizer.end_id


def test_seed_architecture_rejects_too_many_blocks(capsys):
    module = load_example("seed_architecture")
    with pytest.raises(SystemExit) as exit_info:
        module.parse_args(["--image-size=48", "--filters", *["4"] * 6])
    # argparse's usage error: exit code 2, the usage and the reason.
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("usage: ")
    assert (
        "error: 6 pooling blocks shrink the image 64 times, more than "
        "--image-size 48. Pass fewer --filters or a larger image." in error
    )


# --------------------------------------------------------- train_karpathy


@pytest.fixture
def tiny_flickr(tmp_path):
    """Six JPEGs of shapes of different sizes, with Karpathy and Flickr8k
    caption files describing them."""
    image_dir = tmp_path / "images"
    image_dir.mkdir()
    splits = ["train"] * 4 + ["val", "test"]
    images, references = shapes.load_data("train", num_images=6)
    records, tokens = [], []
    for index, (image, split) in enumerate(zip(images, splits)):
        name = f"{index}.jpg"
        size = (48 + 8 * index, 64)
        Image.fromarray(image).resize(size).save(image_dir / name)
        records.append(
            {
                "filename": name,
                "split": split,
                "sentences": [{"raw": text} for text in references[index]],
            }
        )
        tokens += [
            f"{name}#{k}\t{text}" for k, text in enumerate(references[index])
        ]
    json_path = tmp_path / "dataset_flickr8k.json"
    json_path.write_text(json.dumps({"images": records, "dataset": "x"}))
    text_dir = tmp_path / "text"
    text_dir.mkdir()
    (text_dir / "Flickr8k.token.txt").write_text("\n".join(tokens))
    for split, file_split in (
        ("train", "train"),
        ("val", "dev"),
        ("test", "test"),
    ):
        names = [r["filename"] for r in records if r["split"] == split]
        (text_dir / f"Flickr_8k.{file_split}Images.txt").write_text(
            "\n".join(names)
        )
    return {
        "json": json_path,
        "text_dir": text_dir,
        "image_dir": image_dir,
        "test_image": image_dir / "5.jpg",
        "root": tmp_path,
    }


TINY_KARPATHY = [
    "--encoder=simple_cnn",
    # Attention is covered by the shapes run; this mode compiles faster.
    "--conditioning=init_inject",
    "--image-size=32",
    "--epochs=1",
    "--batch-size=4",
    "--min-count=1",
    "--units=16",
    "--embedding-dim=8",
    "--feature-units=16",
    "--beam-width=2",
    "--verbose=0",
]


# The tiny validation split has words the four training images lack.
@pytest.mark.filterwarnings("ignore:.*not in the vocabulary")
# The command's `train` runs in the default tier (tests/cli).
@pytest.mark.large
@pytest.mark.parametrize("source", ["karpathy", "flickr8k"])
def test_train_karpathy_trains_scores_and_saves(tiny_flickr, source):
    root = tiny_flickr["root"]
    if source == "karpathy":
        data = [f"--karpathy-json={tiny_flickr['json']}"]
        mode = []
    else:
        # The Flickr8k text files, with a frozen encoder and cached features.
        data = [f"--flickr8k-text-dir={tiny_flickr['text_dir']}"]
        mode = ["--freeze-encoder", f"--cache-dir={root / 'cache'}"]
    result = load_example("train_karpathy").main(
        [
            *data,
            f"--image-dir={tiny_flickr['image_dir']}",
            f"--output-dir={root / 'out'}",
            *TINY_KARPATHY,
            *mode,
        ]
    )
    assert set(result["scores"]) >= {"BLEU-1", "BLEU-4", "CIDEr-D", "ROUGE-L"}
    assert len(result["captions"]) == 1
    assert {"loss", "val_loss"} <= set(result["history"])
    loaded = keras.saving.load_model(result["model_path"])
    image = keras.utils.load_img(
        tiny_flickr["test_image"],
        target_size=(32, 32),
        interpolation="bilinear",
    )
    # The saved model reads images and writes the captions that were scored.
    assert (
        loaded.caption(np.asarray(image)[None], strategy="beam", beam_width=2)
        == result["captions"]
    )
    if mode:
        cached = sorted(p.suffix for p in (root / "cache").iterdir())
        # Features of the train and validation splits, each with a record.
        assert cached == [".json", ".json", ".npy", ".npy"]
        assert loaded.encoder.trainable is False
        head_variables = (
            loaded.feature_to_sequence.trainable_variables
            + loaded.decoder.trainable_variables
        )
        assert len(loaded.trainable_variables) == len(head_variables)


def test_train_karpathy_needs_one_caption_source(tmp_path, capsys):
    module = keras_captioning.cli.train
    for argv in (
        [f"--image-dir={tmp_path}"],
        [
            "--karpathy-json=a.json",
            "--flickr8k-text-dir=t",
            f"--image-dir={tmp_path}",
        ],
    ):
        with pytest.raises(SystemExit) as exit_info:
            module.parse_args(argv)
        assert exit_info.value.code == 2
