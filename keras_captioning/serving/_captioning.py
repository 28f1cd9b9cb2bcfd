"""What the server asks of the library: bytes to pixels, pixels to captions.

Both are the library's public calls (`keras_captioning.data.read_image`,
`ImageCaptioner.generate` and `detokenize`), so a served caption is the
one `caption()` gives for the same file and options.
"""

import io

import numpy as np

from keras_captioning import _validation
from keras_captioning.data import read_image
from keras_captioning.serving.batcher import padded_batch_sizes


class BatchCaptioner:
    """Captions batches of decoded images with fixed generation options.

    `run_batch(num_captions, images)` is the `DynamicBatcher`'s callable:
    each batch is padded to one of `padded_batch_sizes(max_batch_size)`, so
    the compiled generation is traced once per size (`warm_up` traces them
    all). With `num_captions > 1` (beam search only) every kept beam is
    returned, best first; with one caption and an attention decoder, the
    attention weights of each word come too.
    """

    def __init__(self, captioner, max_batch_size, generation_options):
        self.captioner = captioner
        self.options = dict(generation_options)
        self.batch_sizes = padded_batch_sizes(max_batch_size)
        self.attention = bool(captioner.returns_attention_scores)
        self.feature_grid = None

    @property
    def beam_width(self):
        if self.options.get("strategy", "greedy") != "beam":
            return 1
        return self.options.get("beam_width", 3)

    def decode(self, data, name):
        """Encoded image bytes to the uint8 RGB pixels the model reads.

        `read_image` decodes the bytes as `caption()` decodes a file, then
        the preprocessor's `resize_image` resizes them to the model's size
        as `generate` would (so the worker thread receives images ready to
        stack). Raises `keras_captioning.data.ImageFileError` (a
        `ValueError`) naming `name`: not an image, truncated, or more
        pixels than the library reads (refused from the header, before
        decoding).
        """
        buffer = io.BytesIO(data)
        buffer.name = name
        return self.captioner.preprocessor.resize_image(read_image(buffer))

    def check_num_captions(self, num_captions):
        """`num_captions` as an int, or a `ValueError` saying why not."""
        try:
            num_captions = _validation.check_int(
                "num_captions", int(num_captions)
            )
        except (TypeError, ValueError):
            raise ValueError(
                "`num_captions` must be a positive integer. "
                f"Received: num_captions={num_captions!r}"
            ) from None
        if num_captions > self.beam_width:
            raise ValueError(
                f"`num_captions` must be at most {self.beam_width}: more "
                "than one caption needs the server started with --strategy "
                "beam and a --beam-width of at least that many. Received: "
                f"num_captions={num_captions}"
            )
        return num_captions

    def key(self, num_captions, image):
        """The batch key: images of one key share a compiled function."""
        if self.captioner.preprocessor.target_size is None:
            # No size to resize to: only images of one size batch together.
            return num_captions, image.shape
        return num_captions, None

    def warm_up(self):
        """Compiles generation for every padded batch size; returns them."""
        size = self.captioner.preprocessor.target_size
        if size is None:
            return ()
        self.feature_grid = self._feature_grid(size)
        for batch_size in self.batch_sizes:
            images = np.zeros((batch_size, *size, 3), "uint8")
            self.run_batch((1, None), list(images))
        return self.batch_sizes

    def run_batch(self, key, images):
        num_captions = key[0]
        batch_size = min(
            size for size in self.batch_sizes if size >= len(images)
        )
        options = dict(self.options)
        with_attention = self.attention and num_captions == 1
        if num_captions > 1:
            options["return_all_beams"] = True
        if len({image.shape for image in images}) == 1:
            images = np.stack(images)
        outputs = self.captioner.generate(
            images if isinstance(images, np.ndarray) else list(images),
            batch_size=batch_size,
            return_scores=True,
            return_attention_scores=with_attention,
            **options,
        )
        results = []
        for index in range(len(images)):
            token_ids = outputs["token_ids"][index]
            scores = np.reshape(outputs["scores"][index], (-1,))
            if token_ids.ndim == 1:
                token_ids = token_ids[None]
            captions = self.captioner.detokenize(token_ids)[:num_captions]
            result = [
                {"caption": caption, "score": float(score)}
                for caption, score in zip(captions, scores)
            ]
            if with_attention:
                result[0]["attention"] = self._attention(
                    captions[0], outputs["attention_scores"][index]
                )
            results.append(result)
        return results

    def _feature_grid(self, size):
        features = self.captioner.encoder(np.zeros((1, *size, 3), "float32"))
        shape = tuple(features.shape)
        return (int(shape[1]), int(shape[2])) if len(shape) == 4 else None

    def _attention(self, caption, scores):
        """Per word: its weights over the feature grid (and the sentinel)."""
        words = caption.split()
        scores = np.asarray(scores, "float64")[: len(words)]
        grid = self.feature_grid
        positions = scores.shape[-1]
        if grid is None or grid[0] * grid[1] not in (positions, positions - 1):
            grid = (1, positions)
        steps = grid[0] * grid[1]
        attention = {
            "words": words,
            "grid": list(grid),
            "weights": np.round(scores[:, :steps], 5).tolist(),
        }
        if positions == steps + 1:
            attention["sentinel"] = np.round(scores[:, steps], 5).tolist()
        return attention
