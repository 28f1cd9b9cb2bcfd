"""Small captioners and images for tests whose subject is plumbing.

A test that checks that two ways of captioning agree (an export and
`caption`, a loaded model and the saved one, a command and the library)
needs a captioner whose captions differ from image to image, not one that
has learnt anything. `untrained_captioner` builds one in well under a
second: seeded, untrained, with its kernels and embeddings scaled up so that
the image moves the logits enough for different images to get different
captions.

The helpers compile their captioners with `jit_compile=False`: generation
then runs as a `tf.function` without XLA (a `jax` function op by op), which
gives the same captions. XLA's compilation of the decoding loop costs 2 to 4
seconds per configuration on two cores, and a plumbing test has nothing to
learn from it; the XLA path is the subject of
tests/generation/test_compiled_generation.py and of the tests that call
`compile()` with its defaults.
"""

import keras
import numpy as np

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
IMAGE_SIZE = (16, 16)


def colour_images(size=16, seed=0):
    """Six noisy single-colour images, `(6, size, size, 3)` uint8."""
    rng = np.random.default_rng(seed)
    colours = COLOURS
    images = np.stack(
        [np.broadcast_to(colour, (size, size, 3)) for colour in colours]
    ).astype("float32")
    images += rng.normal(0, 8, images.shape)
    return np.clip(images, 0, 255).astype("uint8")


def untrained_captioner(
    conditioning="init_inject",
    vocabulary=VOCABULARY,
    seed=1,
    scale=4.0,
    max_length=7,
    image_size=IMAGE_SIZE,
    jit_compile=False,
    **arguments,
):
    """A built, untrained captioner whose captions differ between images.

    Args:
        conditioning: the decoder's conditioning mode.
        vocabulary: its words.
        seed: the seed of its initial weights.
        scale: what its kernels and embeddings are multiplied by; at 1 an
            untrained decoder says nearly the same words for every image.
        max_length: the longest caption, in words.
        image_size: the size it resizes images to, or None.
        jit_compile: as for `compile`, which is called with it alone.
        **arguments: more `ImageCaptioner` arguments (they replace the
            defaults here).
    """
    keras.utils.set_random_seed(seed)
    arguments = {
        "encoder": SimpleCNN(filters=(8,), name="encoder"),
        "feature_to_sequence": {"units": 8},
        "decoder": {
            "embedding_dim": 8,
            "units": 16,
            "conditioning": conditioning,
        },
        "max_length": max_length,
        "image_size": image_size,
        **arguments,
    }
    captioner = ImageCaptioner(vocabulary, **arguments)
    height, width = image_size or (None, None)
    captioner.build(
        {"images": (None, height, width, 3), "token_ids": (None, None)}
    )
    if scale != 1:
        for weight in captioner.weights:
            if weight.trainable and weight.name in ("kernel", "embeddings"):
                weight.assign(keras.ops.convert_to_numpy(weight) * scale)
    captioner.compile(jit_compile=jit_compile)
    return captioner


def briefly_trained_captioner(conditioning="init_inject", epochs=20):
    """`untrained_captioner` (unscaled) after `epochs` epochs on the six
    captions of `colour_images()`: a few seconds of training.

    For comparisons across runtimes (LiteRT, ONNX, int8 weights) whose
    arithmetic differs from Keras's by about 1e-4: its next-word
    probabilities have wide margins, so no caption turns on a near tie.
    It need not have learnt every caption.
    """
    captioner = untrained_captioner(conditioning, scale=1)
    captioner.compile(optimizer=keras.optimizers.Adam(0.02), jit_compile=False)
    captioner.fit(
        np.tile(colour_images(), (8, 1, 1, 1)),
        captioner.tokenize(CAPTIONS * 8),
        epochs=epochs,
        batch_size=16,
        verbose=0,
    )
    return captioner
