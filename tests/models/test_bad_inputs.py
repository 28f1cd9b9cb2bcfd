"""Bad arguments to `ImageCaptioner` fail early, naming what is wrong.

Each case runs before any backend work: the model checks what it can at
the boundary (`__init__`, `generate`, `caption`, `fit`) and the error names
the argument and what was received.
"""

import numpy as np
import pytest

from keras_captioning import generation
from keras_captioning.models import ImageCaptioner
from tests.models.conftest import CAPTIONS
from tests.models.conftest import VOCABULARY
from tests.models.conftest import colour_images
from tests.models.conftest import small_captioner

SPECIALS = ["<pad>", "<start>", "<end>", "<unk>"]
IMAGES = colour_images()


@pytest.fixture(scope="module")
def captioner():
    captioner = small_captioner()
    captioner.compile()
    return captioner


def construct(**kwargs):
    return lambda _: ImageCaptioner(**{"vocabulary": VOCABULARY, **kwargs})


def generate(images=IMAGES, **kwargs):
    return lambda captioner: captioner.generate(images, **kwargs)


def caption(images=IMAGES, **kwargs):
    return lambda captioner: captioner.caption(images, **kwargs)


def fit(images=IMAGES, token_ids=..., **kwargs):
    def run(captioner):
        ids = captioner.tokenize(CAPTIONS) if token_ids is ... else token_ids
        return captioner.fit(images, ids, verbose=0, **kwargs)

    return run


BAD_INPUTS = {
    # The model itself.
    "empty vocabulary": (construct(vocabulary=[]), ValueError, ["vocabulary"]),
    "only special tokens": (
        construct(vocabulary=SPECIALS),
        ValueError,
        ["vocabulary", "special tokens"],
    ),
    "only the end token": (
        construct(vocabulary=["<end>"]),
        ValueError,
        ["vocabulary", "<end>"],
    ),
    "max_length 0": (construct(max_length=0), ValueError, ["max_length", "0"]),
    "max_length float": (
        construct(max_length=2.5),
        TypeError,
        ["max_length", "2.5"],
    ),
    "max_length bool": (
        construct(max_length=True),
        TypeError,
        ["max_length", "True"],
    ),
    "encoder_trainable str": (
        construct(encoder_trainable="yes"),
        TypeError,
        ["encoder_trainable", "'yes'"],
    ),
    # Generation options.
    "generate max_length 0": (
        generate(max_length=0),
        ValueError,
        ["max_length", "0"],
    ),
    "generate max_length str": (
        generate(max_length="5"),
        TypeError,
        ["max_length", "'5'"],
    ),
    "caption max_length negative": (
        caption(max_length=-1),
        ValueError,
        ["max_length", "-1"],
    ),
    "batch_size 0": (generate(batch_size=0), ValueError, ["batch_size", "0"]),
    "batch_size float": (
        generate(batch_size=1.5),
        TypeError,
        ["batch_size", "1.5"],
    ),
    "return_scores str": (
        generate(return_scores="yes"),
        TypeError,
        ["return_scores", "'yes'"],
    ),
    "unknown strategy": (
        generate(strategy="nucleus"),
        ValueError,
        ["'nucleus'", "greedy", "beam", "sample"],
    ),
    "strategy of a wrong type": (
        generate(strategy=3),
        TypeError,
        ["3", "int"],
    ),
    "beam option for greedy": (
        generate(strategy="greedy", beam_width=3),
        TypeError,
        ["beam_width", "'greedy'"],
    ),
    "beam option for sampling": (
        caption(strategy="sample", length_penalty=0.5),
        TypeError,
        ["length_penalty", "temperature", "top_k", "seed"],
    ),
    "options with a sampler instance": (
        generate(strategy=generation.GreedySampler(), top_k=3),
        ValueError,
        ["top_k", "already configured"],
    ),
    "beam_width 0": (
        generate(strategy="beam", beam_width=0),
        ValueError,
        ["beam_width", "0"],
    ),
    "temperature 0": (
        generate(strategy="sample", temperature=0),
        ValueError,
        ["temperature", "0"],
    ),
    "attention scores without attention": (
        generate(return_attention_scores=True),
        ValueError,
        ["return_attention_scores", "init_inject"],
    ),
    # Images.
    "images of rank 3": (
        generate(np.zeros((2, 16, 16), "uint8")),
        ValueError,
        ["images", "(2, 16, 16)", "height, width, 3"],
    ),
    "images with 4 channels": (
        caption(np.zeros((2, 16, 16, 4), "uint8")),
        ValueError,
        ["images", "(2, 16, 16, 4)"],
    ),
    "images of int64": (
        generate(np.zeros((2, 16, 16, 3), "int64")),
        TypeError,
        ["images", "int64", "uint8 or float"],
    ),
    "images of bool": (
        generate(np.zeros((2, 16, 16, 3), bool)),
        TypeError,
        ["images", "bool"],
    ),
    "no images": (
        generate(np.zeros((0, 16, 16, 3), "uint8")),
        ValueError,
        ["images", "empty"],
    ),
    "a scalar image": (generate(np.float32(3.0)), ValueError, ["images"]),
    # Training data.
    "fit batch sizes disagree": (
        fit(token_ids=np.ones((2, 8), "int32")),
        ValueError,
        ["x", "y", "4 images", "2 captions"],
    ),
    "fit float token ids": (
        fit(token_ids=np.zeros((4, 8), "float32")),
        TypeError,
        ["integer token ids", "float32"],
    ),
    "fit token ids of rank 1": (
        fit(token_ids=np.ones((4,), "int32")),
        ValueError,
        ["(batch, length)", "(4,)"],
    ),
    "fit without token ids": (fit(token_ids=None), ValueError, ["token ids"]),
    "fit images with 1 channel": (
        fit(np.zeros((4, 16, 16, 1), "uint8")),
        ValueError,
        ["images", "(4, 16, 16, 1)"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_a_clear_error(captioner, case):
    action, error, words = BAD_INPUTS[case]
    with pytest.raises(error) as info:
        action(captioner)
    for word in words:
        assert word in str(info.value), (case, str(info.value))
