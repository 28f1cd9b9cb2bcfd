"""Tiny captioners trained to say six different things, one per mode."""

import contextlib

import keras
import numpy as np
import pytest

from keras_captioning.models import ImageCaptioner
from keras_captioning.models import SimpleCNN

COLOURS = [
    (230, 30, 30),
    (30, 200, 30),
    (30, 30, 230),
    (230, 230, 30),
    (230, 30, 230),
    (30, 230, 230),
]
CAPTIONS = [
    "a red square",
    "a green circle on the left",
    "two blue shapes",
    "a yellow square and a circle",
    "purple things",
    "a cyan circle on the right",
]
VOCABULARY = sorted({word for caption in CAPTIONS for word in caption.split()})


def conditioning_modes():
    """Every registered conditioning mode (the registry once it exists)."""
    try:
        from keras_captioning.layers import conditioning
    except ImportError:
        from keras_captioning.layers.caption_decoder import CONDITIONING_MODES

        return tuple(CONDITIONING_MODES)
    return tuple(conditioning.names())


MODES = conditioning_modes()
# The modes whose greedy-search export runs by default in each format (the
# same graph as beam search with another loop); every mode with --run_large.
GREEDY_MODES = ("init_inject", "attention")

needs_tensorflow = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="export traces TensorFlow graphs: it runs on the tensorflow "
    "backend only (other backends get a clear error, tested separately)",
)


def colour_images(size=16, seed=0):
    """Six noisy single-colour images, `(6, size, size, 3)` uint8."""
    rng = np.random.default_rng(seed)
    images = np.stack(
        [np.broadcast_to(colour, (size, size, 3)) for colour in COLOURS]
    ).astype("float32")
    images += rng.normal(0, 8, images.shape)
    return np.clip(images, 0, 255).astype("uint8")


# The fixture trains in rounds until the captioner says its six captions
# (greedy and beam), with a bound. A fixed epoch count would test the CPU's
# arithmetic: with Adam at 0.01 the number of distinct captions after a given
# epoch swings (init_inject from seed 1: 6, 4, then 6 after 20, 30, 40 epochs
# on one machine), and oneDNN picks kernels by instruction set.
EPOCHS_PER_ROUND = 10
MAX_EPOCHS = 150

# What a test comparing an exported artifact's captions with the captioner's
# needs of them, on images the captioner was not trained on: enough distinct
# captions for the comparison to mean something, not a count one CPU gave.
MIN_DISTINCT_CAPTIONS = 3


def train_captioner(conditioning):
    """A captioner resizing to 16x16 inside, overfit to the six captions.

    Trains until `caption` (greedy and beam) gives each of the six
    `colour_images()` its own caption of `CAPTIONS`, for at most
    `MAX_EPOCHS` epochs; fails the test, saying what it said, otherwise.
    """
    keras.utils.set_random_seed(1)
    captioner = ImageCaptioner(
        VOCABULARY,
        encoder=SimpleCNN(filters=(8, 16), name="encoder"),
        feature_to_sequence={"units": 16},
        decoder={
            "embedding_dim": 16,
            "units": 32,
            "conditioning": conditioning,
        },
        max_length=7,
        image_size=(16, 16),
    )
    captioner.compile(optimizer=keras.optimizers.Adam(0.01))
    images = np.tile(colour_images(), (8, 1, 1, 1))
    token_ids = captioner.tokenize(CAPTIONS * 8)
    for epoch in range(0, MAX_EPOCHS, EPOCHS_PER_ROUND):
        captioner.fit(
            images,
            token_ids,
            initial_epoch=epoch,
            epochs=epoch + EPOCHS_PER_ROUND,
            batch_size=16,
            verbose=0,
        )
        said = {
            strategy: captioner.caption(colour_images(), strategy=strategy)
            for strategy in ("greedy", "beam")
        }
        if all(captions == CAPTIONS for captions in said.values()):
            return captioner
    pytest.fail(
        f"The {conditioning!r} captioner did not learn its six captions in "
        f"{MAX_EPOCHS} epochs; it says {said}, not {CAPTIONS}"
    )


class _TrainedCaptioners(dict):
    """Trains each mode's captioner the first time a test asks for it.

    Under pytest-xdist every worker has its own session, so the export
    modules on different workers would each train all modes (about two
    minutes of CPU apiece). The first worker to ask trains and saves to a
    folder the workers share, holding a lock on the mode meanwhile; the
    others load that file, which holds the same weights.
    """

    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def __missing__(self, mode):
        path = self.folder / f"{mode}.keras"
        with _locked(self.folder / f"{mode}.lock"):
            if path.exists():
                captioner = keras.saving.load_model(path)
            else:
                captioner = train_captioner(mode)
                captioner.save(path)
        self[mode] = captioner
        return captioner


@contextlib.contextmanager
def _locked(path):
    """An exclusive lock on `path` between processes (POSIX `flock`)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; at worst two workers train.
        yield
        return
    with open(path, "w") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def captioners(tmp_path_factory, worker_id):
    """`{mode: captioner}`, each captioning the six images differently."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("export runs on the tensorflow backend only")
    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # pytest-xdist: the workers' common parent
        root = root.parent
    folder = root / "export_captioners"
    folder.mkdir(exist_ok=True)
    return _TrainedCaptioners(folder)
