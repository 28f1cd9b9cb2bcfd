import keras
import numpy as np
import pytest

from keras_captioning.models import ImageCaptioner
from keras_captioning.models import SimpleCNN
from tests.captioners import untrained_captioner

COLOURS = {
    "red": (230, 30, 30),
    "green": (30, 200, 30),
    "blue": (30, 30, 230),
    "yellow": (230, 230, 30),
}
CAPTIONS = [
    "a red square on the left",
    "a green circle",
    "two blue shapes on the right",
    "a yellow square and a circle",
]
VOCABULARY = sorted({word for caption in CAPTIONS for word in caption.split()})


def colour_images(seed=0):
    """Four 16x16 images, one per colour, with a little noise."""
    rng = np.random.default_rng(seed)
    images = np.stack(
        [np.broadcast_to(colour, (16, 16, 3)) for colour in COLOURS.values()]
    ).astype("float32")
    images += rng.normal(0, 8, images.shape)
    return np.clip(images, 0, 255).astype("uint8")


def small_captioner(conditioning="init_inject", **kwargs):
    arguments = {
        "encoder": SimpleCNN(filters=(8, 16), name="encoder"),
        "feature_to_sequence": {"units": 16},
        "decoder": {
            "embedding_dim": 16,
            "units": 32,
            "conditioning": conditioning,
        },
        "max_length": 6,
        **kwargs,
    }
    captioner = ImageCaptioner(VOCABULARY, **arguments)
    # Generation without XLA until a test compiles it otherwise
    # (tests/captioners.py says why).
    captioner.compile(jit_compile=False)
    return captioner


def has_learnt(captioner):
    """Whether greedy and beam search caption the four colour images (two
    noise draws) with their own captions."""
    return all(
        captioner.caption(images, strategy="beam", beam_width=3) == CAPTIONS
        and captioner.caption(images) == CAPTIONS
        for images in (colour_images(), colour_images(seed=1))
    )


def overfit(captioner, epochs=25, max_epochs=100):
    """Trains on the four captions until `has_learnt`, with a bound.

    Trains `epochs` epochs, then 5 more at a time until the captioner has
    learnt its captions or `max_epochs` have run: how many epochs an overfit
    takes depends on the CPU's arithmetic (oneDNN picks kernels by
    instruction set), what it must reach does not. Returns the `History`
    of the first `fit`, with every later epoch appended.
    """
    images = np.tile(colour_images(), (8, 1, 1, 1))
    token_ids = captioner.tokenize(CAPTIONS * 8)
    captioner.compile(optimizer=keras.optimizers.Adam(0.01))
    history = captioner.fit(
        images, token_ids, epochs=epochs, batch_size=8, verbose=0
    )
    while epochs < max_epochs and not has_learnt(captioner):
        more = captioner.fit(
            images,
            token_ids,
            initial_epoch=epochs,
            epochs=min(epochs + 5, max_epochs),
            batch_size=8,
            verbose=0,
        )
        epochs = min(epochs + 5, max_epochs)
        for key, values in more.history.items():
            history.history[key].extend(values)
        history.epoch.extend(more.epoch)
    return history


@pytest.fixture(scope="module")
def varied_captioner():
    """An untrained captioner whose captions differ between images: for
    tests of what generation returns, not of what it learnt."""
    return untrained_captioner(
        vocabulary=VOCABULARY, max_length=6, image_size=None
    )
