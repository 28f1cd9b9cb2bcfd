"""The decoding controls as `keras-captioning` flags (caption, export)."""

import keras
import pytest
from PIL import Image

from keras_captioning import cli
from keras_captioning.models import ImageCaptioner
from keras_captioning.models import SimpleCNN
from tests.export.conftest import colour_images

VOCABULARY = ["a", "red", "green", "circle", "square", "on", "the", "left"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """An untrained (repetitive) model and six PNG files."""
    root = tmp_path_factory.mktemp("controls_cli")
    keras.utils.set_random_seed(3)
    captioner = ImageCaptioner(
        VOCABULARY,
        encoder=SimpleCNN(filters=(8,), name="encoder"),
        feature_to_sequence={"units": 8},
        decoder={"embedding_dim": 8, "units": 16},
        max_length=6,
        image_size=(16, 16),
    )
    images = colour_images()
    captioner.caption(images)  # builds it
    model_path = root / "captioner.keras"
    captioner.save(model_path)
    paths = []
    for index, image in enumerate(images):
        path = root / f"{index}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    return {"root": root, "model": str(model_path), "paths": paths}


def read_captions(capsys):
    return [
        line.split(": ", 1)[1] for line in capsys.readouterr().out.splitlines()
    ]


def test_caption_flags_give_the_captions_of_the_options(files, capsys):
    assert cli.main(["caption", files["model"], *files["paths"]]) == 0
    plain = [caption.split() for caption in read_captions(capsys)]
    # The flags have something to change: the untrained model repeats.
    assert any(len(set(words)) < len(words) for words in plain)
    argv = [
        "caption",
        files["model"],
        *files["paths"],
        "--no-repeat-ngram-size=1",
        "--min-length=2",
        "--bad-words",
        "circle",
        "--bad-endings",
    ]
    assert cli.main(argv) == 0
    for caption in read_captions(capsys):
        words = caption.split()
        assert len(words) >= 2 and "circle" not in words
        assert len(set(words)) == len(words)
        if len(words) < 6:
            assert words[-1] not in ("a", "on", "the")


@pytest.mark.parametrize(
    "flags",
    [
        ["--bad-words", "zebra"],
        ["--min-length=9"],
        ["--top-p=0.9"],  # greedy takes no top_p
        ["--strategy=beam", "--num-beam-groups=2"],  # 2 does not divide 3
    ],
)
def test_bad_control_flags_are_usage_errors(files, flags, capsys):
    argv = ["caption", files["model"], files["paths"][0], *flags]
    assert cli.main(argv) == cli.EXIT_USAGE
    assert "error" in capsys.readouterr().err
