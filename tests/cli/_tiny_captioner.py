"""The untrained tiny captioner the command tests save and load."""

import keras_captioning


def save_tiny_captioner(path, vocabulary):
    """Saves an untrained 16x16 captioner over `vocabulary` at `path`."""
    captioner = keras_captioning.models.ImageCaptioner(
        vocabulary,
        encoder=keras_captioning.models.SimpleCNN(filters=(4,)),
        image_size=(16, 16),
        feature_to_sequence={"units": 8},
        decoder={"units": 8, "embedding_dim": 4},
        max_length=5,
    )
    captioner.build({"images": (None, 16, 16, 3), "token_ids": (None, None)})
    captioner.save(path)
    return path
