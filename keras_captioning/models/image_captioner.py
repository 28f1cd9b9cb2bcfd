import keras
import numpy as np
from keras import ops

from keras_captioning import _atomic
from keras_captioning import _distribution
from keras_captioning import _validation
from keras_captioning import generation
from keras_captioning.layers.caption_decoder import CaptionDecoder
from keras_captioning.layers.feature_to_sequence import FeatureToSequence
from keras_captioning.layers.image_preprocessing import ImagePreprocessing
from keras_captioning.losses.caption_crossentropy import CaptionCrossentropy
from keras_captioning.metrics.masked_token_accuracy import MaskedTokenAccuracy
from keras_captioning.models import _compiled_generation
from keras_captioning.models import _training_data
from keras_captioning.models._encoders import build_encoder
from keras_captioning.text.caption_tokenizer import CaptionTokenizer
from keras_captioning.text.special_tokens import SPECIAL_TOKENS

# Compiled generation functions kept per model (one per sampler
# configuration, `max_length` and options), least recently used dropped.
_GENERATE_FUNCTION_CACHE_SIZE = 8


@keras.saving.register_keras_serializable(package="keras_captioning")
class ImageCaptioner(keras.Model):
    """An image captioning model: CNN encoder and recurrent decoder, trained
    together, with compiled generation and captions as strings.

    The model chains `ImagePreprocessing` (raw `uint8` images in, at training
    and caption time alike), an encoder, `FeatureToSequence` and
    `CaptionDecoder`, and owns a `CaptionTokenizer` built from the
    vocabulary. Everything, the vocabulary included, is part of its config,
    so `captioner.save("m.keras")` and `keras.saving.load_model("m.keras")`
    (after `import keras_captioning`, with the default `safe_mode=True`)
    restore a model that captions the same way and can continue training.

    Training: `compile()` with no arguments uses Adam, `CaptionCrossentropy`
    (cross-entropy averaged over real tokens only) and `MaskedTokenAccuracy`.
    `fit(images, token_ids)` takes the rows of `tokenize`; the model feeds
    `token_ids[:, :-1]` to the decoder and predicts `token_ids[:, 1:]`
    itself. NumPy arrays, `tf.data.Dataset`s of `(images, token_ids)` and
    `keras.utils.PyDataset`s work alike. A dataset that already yields
    `({"images": ..., "token_ids": ...}, targets)` is used as it is.

    Generation: `generate(images, strategy=...)` runs greedy search, beam
    search or sampling inside one compiled loop (`tf.function` with XLA on
    TensorFlow, `jax.jit` on JAX, eager on PyTorch; plain Python with
    `compile(run_eagerly=True)`) with the decoder's recurrent state as the
    cache, one cell update per token. `caption` returns strings. The steps
    are public hooks a subclass may override: `call_with_cache` (one decoder
    step), `generate_step` (one batch) and `make_generate_function` (its
    compiled form).

    Args:
        vocabulary: list of str, the words the model reads and writes (see
            `keras_captioning.text.build_vocabulary`). The special tokens
            `<pad>`, `<start>`, `<end>`, `<unk>` are added in front when
            missing.
        encoder: `"simple_cnn"` (a small VGG-style CNN sized for a CPU), the
            name of any `keras.applications` network (`"vgg16"`,
            `"resnet101"`, `"inception_v3"`, `"efficientnet_b0"`,
            `"mobilenet_v3_small"`, `"convnext_tiny"`, ...;
            `keras_captioning.models.backbones.available_encoders()` lists
            all of them and the Backbones page gives each one's scaling,
            default size and feature map), built without its classifier so
            its last feature map goes to `FeatureToSequence`; any Keras
            layer or model mapping preprocessed images to features; or
            `None` to train on precomputed features (then `images` are
            those features). Defaults to `"simple_cnn"`.
        feature_to_sequence: `None` for a `FeatureToSequence(units=256,
            activation="relu")`, a `FeatureToSequence` instance, or a dict of
            its keyword arguments.
        decoder: `None` for a `CaptionDecoder(embedding_dim=256, units=512)`
            with `"attention"` conditioning (the strongest mode measured,
            see the conditioning guide), a `CaptionDecoder` instance, or a
            dict of its keyword arguments (for example
            `{"conditioning": "top_down"}`, merged with those defaults);
            `vocabulary_size` is filled in.
        max_length: int. Most words in a caption: `tokenize` gives `max_length
            + 2` ids and generation writes at most `max_length` words and the
            end token. Defaults to `20`.
        image_size: `None` or `(height, width)`. Images are resized to it
            inside the model. `None` keeps the input size for `"simple_cnn"`
            and a custom encoder, and uses the backbone's default size
            (`BACKBONES[name].default_size`: 224 for most, 299 for Inception
            and Xception, up to 600 for EfficientNetB7) for named backbones,
            each of which has a minimum (32; 75 for the Inception networks,
            71 for Xception).
        preprocessing: `None` for the scaling the encoder expects (`"unit"`
            for `"simple_cnn"` and custom encoders, the backbone's own for
            named backbones), one of `"unit"`, `"symmetric"`, `"caffe"`,
            `"torch"`, `"none"`, or an `ImagePreprocessing` instance.
        encoder_trainable: bool. `True` trains the encoder jointly with the
            decoder; `False` freezes it (batch normalisation then runs in
            inference mode). Defaults to `True`.
        encoder_weights: for a named backbone, `None` (random
            initialisation), `"imagenet"` (Keras's pretrained weights without
            the classifier, downloaded once by `keras.utils.get_file` into
            the Keras cache, `~/.keras/models`, and read from there
            afterwards, offline too) or the path of a local weights file.
            Defaults to `None`.
        **kwargs: other keyword arguments passed to `keras.Model`, such as
            `name`.

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> captioner = keras_captioning.models.ImageCaptioner(
    ...     vocabulary=["a", "red", "blue", "circle", "square"],
    ...     encoder="simple_cnn",
    ...     decoder={"embedding_dim": 16, "units": 32},
    ...     feature_to_sequence={"units": 16},
    ...     max_length=5,
    ... )
    >>> images = np.zeros((2, 32, 32, 3), "uint8")
    >>> token_ids = captioner.tokenize(["a red circle", "a blue square"])
    >>> token_ids.shape
    (2, 7)
    >>> captioner.compile()
    >>> history = captioner.fit(images, token_ids, epochs=1, verbose=0)
    >>> captions = captioner.caption(images, strategy="beam", beam_width=2)
    >>> len(captions)
    2
    """

    def __init__(
        self,
        vocabulary,
        encoder="simple_cnn",
        feature_to_sequence=None,
        decoder=None,
        max_length=20,
        image_size=None,
        preprocessing=None,
        encoder_trainable=True,
        encoder_weights=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _validation.check_bool("encoder_trainable", encoder_trainable)
        _validation.check_int("max_length", max_length)
        self.tokenizer = CaptionTokenizer(vocabulary, max_length=max_length)
        if len(self.tokenizer.vocabulary) <= len(SPECIAL_TOKENS):
            raise ValueError(
                "`vocabulary` must hold at least one word besides the "
                f"special tokens {SPECIAL_TOKENS}, or the model has nothing "
                f"to write. Received: vocabulary={vocabulary!r}"
            )
        self.max_length = self.tokenizer.max_length
        self.encoder_trainable = encoder_trainable

        default_scaling = "unit"
        if isinstance(encoder, str):
            encoder, default_scaling, image_size = build_encoder(
                encoder, image_size, encoder_weights
            )
        elif encoder_weights is not None:
            raise ValueError(
                "`encoder_weights` applies to encoders given by name. Load "
                "weights into your own encoder before passing it. Received: "
                f"encoder_weights={encoder_weights!r}"
            )
        elif encoder is not None and not isinstance(
            encoder, keras.layers.Layer
        ):
            raise TypeError(
                "`encoder` must be an encoder name, a Keras layer or model, "
                f"or None. Received: encoder={encoder!r}"
            )
        self.encoder = encoder
        if encoder is not None:
            encoder.trainable = encoder_trainable

        if encoder is None:
            if image_size is not None or preprocessing is not None:
                raise ValueError(
                    "`image_size` and `preprocessing` apply to images; with "
                    "`encoder=None` the model reads precomputed features. "
                    f"Received: image_size={image_size!r}, "
                    f"preprocessing={preprocessing!r}"
                )
            self.preprocessing = None
        elif isinstance(preprocessing, ImagePreprocessing):
            self.preprocessing = preprocessing
        else:
            self.preprocessing = ImagePreprocessing(
                image_size=image_size,
                scaling=preprocessing or default_scaling,
                name="preprocessing",
            )

        self.feature_to_sequence = _component(
            feature_to_sequence,
            FeatureToSequence,
            {"units": 256, "activation": "relu", "name": "feature_to_sequence"},
            "feature_to_sequence",
        )
        self.decoder = _component(
            decoder,
            CaptionDecoder,
            {
                "vocabulary_size": self.tokenizer.vocabulary_size,
                "embedding_dim": 256,
                "units": 512,
                # The strongest mode measured on the shapes data at an equal
                # training budget (docs/conditioning.rst).
                "conditioning": "attention",
                "name": "decoder",
            },
            "decoder",
        )
        if self.decoder.vocabulary_size != self.tokenizer.vocabulary_size:
            raise ValueError(
                "The decoder's `vocabulary_size` must equal the vocabulary's "
                f"size with special tokens: expected "
                f"{self.tokenizer.vocabulary_size}, received "
                f"{self.decoder.vocabulary_size}."
            )
        # A plain object, so Keras does not track it (see `FunctionCache`).
        self._generate_functions = _compiled_generation.FunctionCache(
            _GENERATE_FUNCTION_CACHE_SIZE
        )

    # ------------------------------------------------------------- text

    @property
    def vocabulary(self):
        """The vocabulary, special tokens first."""
        return self.tokenizer.vocabulary

    def tokenize(self, captions):
        """Captions to padded ids `(n, max_length + 2)`: start, words, end.

        Uses the same standardisation as generation (see
        `keras_captioning.text.CaptionTokenizer`); longer captions are cut to
        `max_length` words with a warning, unknown words become `<unk>` and
        are counted.
        """
        return self.tokenizer.tokenize(captions)

    def detokenize(self, token_ids):
        """Token ids `(n, length)` to strings, stopping at the end token."""
        return self.tokenizer.detokenize(token_ids)

    # ---------------------------------------------------------- forward

    def build(self, input_shape):
        images_shape, token_ids_shape = _split_input_shape(input_shape)
        features_shape = tuple(images_shape)
        if self.preprocessing is not None:
            features_shape = self.preprocessing.compute_output_shape(
                features_shape
            )
        # Components may already be built: given built by the user, or
        # called on their own (as `generate` and `encode_images` do).
        if self.encoder is not None:
            if not self.encoder.built:
                self.encoder.build(features_shape)
            features_shape = self.encoder.compute_output_shape(features_shape)
        if not self.feature_to_sequence.built:
            self.feature_to_sequence.build(features_shape)
        sequence_shape = self.feature_to_sequence.compute_output_shape(
            features_shape
        )
        if not self.decoder.built:
            self.decoder.build(tuple(token_ids_shape), sequence_shape)
        self._build_shapes = {
            "images": tuple(images_shape),
            "token_ids": tuple(token_ids_shape),
        }
        self.built = True

    def get_build_config(self):
        if not self.built:
            return None
        return {"input_shape": self._build_shapes}

    def build_from_config(self, config):
        self.build(config["input_shape"])

    def encode_images(self, images, training=None):
        """Images (or precomputed features) to the decoder's image sequence.

        Args:
            images: `(batch, height, width, 3)` images, `uint8` or floats in
                `[0, 255]`; with `encoder=None`, precomputed features.
            training: whether the encoder and dropout run in training mode.

        Returns:
            Float tensor `(batch, image_steps, feature_dim)`.
        """
        features = images
        if self.preprocessing is not None:
            features = self.preprocessing(features)
        if self.encoder is not None:
            features = self.encoder(features, training=training)
        return self.feature_to_sequence(features, training=training)

    def call(self, inputs, training=None):
        images, token_ids = _split_inputs(inputs)
        # `fit` checks ids before they get here; under `tf.distribute`, Keras
        # builds the model from a batch averaged over replicas, which turns
        # the ids into floats.
        token_ids = ops.cast(token_ids, "int32")
        features = self.encode_images(images, training=training)
        return self.decoder(token_ids, features, training=training)

    # ---------------------------------------------------------- training

    def compile(
        self,
        optimizer="auto",
        loss="auto",
        metrics="auto",
        label_smoothing=0.0,
        **kwargs,
    ):
        """Configures training, with defaults that suit captioning.

        Args:
            optimizer: `"auto"` for `keras.optimizers.Adam(1e-3,
                clipnorm=5.0)`, or any Keras optimizer.
            loss: `"auto"` for `CaptionCrossentropy(label_smoothing)`, the
                cross-entropy averaged over real tokens only, or any loss.
            metrics: `"auto"` for `[MaskedTokenAccuracy()]`, or a list.
            label_smoothing: float in `[0, 1)`, used by the `"auto"` loss.
            **kwargs: passed to `keras.Model.compile` (for example
                `jit_compile`).
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(1e-3, clipnorm=5.0)
        if loss == "auto":
            loss = CaptionCrossentropy(label_smoothing=label_smoothing)
        elif label_smoothing:
            raise ValueError(
                "`label_smoothing` configures the default loss; set it on "
                f"your own loss instead. Received: loss={loss!r}, "
                f"label_smoothing={label_smoothing!r}"
            )
        if metrics == "auto":
            metrics = [MaskedTokenAccuracy()]
        super().compile(
            optimizer=optimizer, loss=loss, metrics=metrics, **kwargs
        )
        # Keras resolves "auto" to no XLA on a CPU; generation's loop gains
        # the most from it, so it keeps the choice as given.
        self._generate_jit_compile = kwargs.get("jit_compile", "auto")

    def compile_from_config(self, config):
        # `compile` is overridden, so Keras leaves restoring it to the model:
        # a loaded captioner comes back compiled, optimizer state included.
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def fit(self, x=None, y=None, validation_data=None, **kwargs):
        """Trains on images with their token ids (see the class docstring).

        `x` is images (`uint8` or float) and `y` the rows of `tokenize`, or
        `x` is a `tf.data.Dataset` / `keras.utils.PyDataset` / generator of
        `(images, token_ids)` batches. `validation_data` takes the same
        forms. Other arguments are those of `keras.Model.fit`; `shuffle`
        defaults to `False` for datasets and generators, which Keras cannot
        shuffle (shuffle them when you build them).
        """
        _distribution.check_tf_config()
        x, y, kwargs = _training_data.teacher_forcing_inputs(
            x, y, kwargs, self._check_images
        )
        if _training_data.yields_batches(x):
            kwargs.setdefault("shuffle", False)
        if validation_data is not None:
            validation_data = _training_data.teacher_forcing_validation(
                validation_data, self._check_images
            )
        return super().fit(x, y, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """Evaluates the loss and metrics on `(images, token_ids)` data."""
        x, y, kwargs = _training_data.teacher_forcing_inputs(
            x, y, kwargs, self._check_images
        )
        return super().evaluate(x, y, **kwargs)

    # -------------------------------------------------------- generation

    def generate(
        self,
        images,
        strategy="greedy",
        max_length=None,
        batch_size=32,
        return_scores=False,
        return_attention_scores=False,
        **strategy_options,
    ):
        """Generates token ids for images in one compiled loop per batch.

        Pad, start and unknown tokens are never generated; a caption ends at
        its end token and is padded after it. Arguments are checked here,
        once; the compiled loop (see `make_generate_function`) checks
        nothing.

        Args:
            images: `(n, height, width, 3)` images (`uint8` or floats in
                `[0, 255]`), or precomputed features with `encoder=None`.
            strategy: `"greedy"`, `"beam"` or `"sample"`, or a
                `keras_captioning.generation.Sampler`.
            max_length: int or `None`. Most words per caption; `None` uses the
                model's `max_length`.
            batch_size: int. Images per compiled call; the last batch is
                padded to this size so the compiled loop is reused.
            return_scores: bool. Also return each caption's score.
            return_attention_scores: bool. Attention decoders only: also
                return the attention weights of every generated token.
            **strategy_options: options of the strategy, such as
                `beam_width=3`, `length_penalty=0.6`, `return_all_beams=True`
                for `"beam"`, or `temperature`, `top_k`, `seed` for
                `"sample"`.

        Returns:
            NumPy int32 array `(n, max_length + 1)` of token ids (without the
            start token; `(n, beam_width, max_length + 1)` with
            `return_all_beams=True`). With `return_scores` or
            `return_attention_scores`, a dict with `"token_ids"`, `"scores"`
            and `"attention_scores"` `(n, max_length + 1, image_steps)`.
        """
        max_length = _validation.check_int(
            "max_length", max_length, allow_none=True
        )
        max_length = self.max_length if max_length is None else max_length
        batch_size = _validation.check_int("batch_size", batch_size)
        return_scores = _validation.check_bool("return_scores", return_scores)
        return_attention_scores = _validation.check_bool(
            "return_attention_scores", return_attention_scores
        )
        if return_attention_scores and not self._returns_attention_scores():
            raise ValueError(
                "`return_attention_scores=True` needs a decoder with "
                "attention (`conditioning='attention'`). This model's decoder "
                f"uses conditioning={self.decoder.conditioning!r}."
            )
        sampler = generation.get(strategy, **strategy_options)
        images = self._check_images(images)
        if not self.built:
            self.build(
                {
                    "images": (None, *images.shape[1:]),
                    "token_ids": (None, None),
                }
            )
        sampler, generate_function = self._cached_generate_function(
            sampler,
            isinstance(strategy, str),
            max_length,
            return_attention_scores,
        )
        outputs = []
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size]
            count = len(batch)
            if count < batch_size:
                filler = np.repeat(batch[-1:], batch_size - count, axis=0)
                batch = np.concatenate([batch, filler])
            result = generate_function(batch)
            outputs.append(
                {
                    key: ops.convert_to_numpy(value)[:count]
                    for key, value in result.items()
                }
            )
        merged = {
            key: np.concatenate([output[key] for output in outputs])
            for key in outputs[0]
        }
        if not (return_scores or return_attention_scores):
            return merged["token_ids"]
        return merged

    def caption(self, images, **generate_options):
        """Captions images as strings; options are those of `generate`.

        With `return_all_beams=True`, returns one list of strings per image,
        best first.
        """
        token_ids = self.generate(images, **generate_options)
        if isinstance(token_ids, dict):
            token_ids = token_ids["token_ids"]
        if token_ids.ndim == 3:
            return [self.detokenize(beams) for beams in token_ids]
        return self.detokenize(token_ids)

    def call_with_cache(self, token_ids, cache):
        """One decoder step from a cache: the hook generation calls.

        Override it to change what a step does (for instance to add a bias
        to the logits); `generate_step` calls it once per generated token,
        inside the compiled loop, so it must use `keras.ops` only and check
        nothing.

        Args:
            token_ids: int32 tensor `(rows,)`, the previous token of each row.
            cache: the decoder state, a nested structure of tensors with the
                rows first, as `decoder.get_initial_state` returns it.

        Returns:
            `(logits, new_cache, attention_scores)`: float logits `(rows,
            vocabulary_size)`, the cache with the same structure and shapes,
            and the attention weights `(rows, image_steps)` or `None` for a
            decoder without attention.
        """
        return self.decoder.call_with_cache(token_ids, cache)

    def generate_step(
        self, images, sampler, max_length=None, return_attention_scores=False
    ):
        """Generates one batch: encode, initial cache, run the sampler.

        The body of the function `make_generate_function` compiles; it runs
        on arguments `generate` has checked.

        Args:
            images: a batch of images (or features with `encoder=None`).
            sampler: a `keras_captioning.generation.Sampler`.
            max_length: int or `None` (the model's). Most words; the loop
                writes `max_length + 1` tokens, the last always the end
                token when no earlier one ended the caption.
            return_attention_scores: bool. Record the attention weights.

        Returns:
            A dict of tensors: `"token_ids"`, `"scores"` and, with
            `return_attention_scores`, `"attention_scores"`.
        """
        max_length = self.max_length if max_length is None else max_length
        features = self.encode_images(images, training=False)
        cache = self.decoder.get_initial_state(features)

        def step_fn(token_ids, cache):
            logits, cache, attention = self.call_with_cache(token_ids, cache)
            return logits, cache, attention if return_attention_scores else None

        tokenizer = self.tokenizer
        outputs = sampler(
            step_fn,
            cache,
            start_token_id=tokenizer.start_id,
            end_token_id=tokenizer.end_id,
            max_length=max_length + 1,
            banned_token_ids=(
                tokenizer.pad_id,
                tokenizer.start_id,
                tokenizer.unknown_id,
            ),
            pad_token_id=tokenizer.pad_id,
            force_end_token=True,
        )
        if "extras" in outputs:
            outputs["attention_scores"] = outputs.pop("extras")
        return outputs

    def make_generate_function(
        self, sampler, max_length=None, return_attention_scores=False
    ):
        """Returns `function(images) -> dict`, `generate_step` made runnable.

        With `run_eagerly=True` (see `compile`) the function is plain Python,
        so a debugger steps through the loop. Otherwise it is compiled for
        the backend: `tf.function` on TensorFlow and `jax.jit` on JAX, with
        XLA unless `compile(jit_compile=False)` was asked for explicitly
        (`"auto"` means XLA for generation, even on a CPU). PyTorch runs
        eagerly without autograd. `generate` caches the functions per
        sampler configuration (`Sampler.cache_key`), `max_length` and
        options, the 8 most recently used.

        Args:
            sampler: a `keras_captioning.generation.Sampler`.
            max_length: int or `None`, as for `generate_step`.
            return_attention_scores: bool, as for `generate_step`.
        """

        def generate_function(images):
            return self.generate_step(
                images,
                sampler,
                max_length=max_length,
                return_attention_scores=return_attention_scores,
            )

        if self.run_eagerly:
            return _compiled_generation.eager_function(generate_function)
        requested = getattr(self, "_generate_jit_compile", "auto")
        return _compiled_generation.compile_function(
            generate_function,
            variables=self.variables,
            updated_variables=sampler.variables,
            jit_compile=True if requested == "auto" else bool(requested),
        )

    def _cached_generate_function(
        self, sampler, by_name, max_length, with_attention
    ):
        """`(sampler, function)` from the cache, made when missing.

        A sampler given by name is built afresh by every call; the cache
        then hands back the one built first, so unseeded sampling by name
        continues one seed stream instead of compiling anew. Unseeded
        instances are told apart by their seed generators.
        """
        sampler_key = sampler.cache_key()
        if by_name and sampler.variables:
            sampler_key = sampler_key[:-1] + ("by name",)
        key = (
            sampler_key,
            max_length,
            with_attention,
            bool(self.run_eagerly),
            getattr(self, "_generate_jit_compile", "auto"),
        )
        return self._generate_functions.get(
            key,
            lambda: (
                sampler,
                self.make_generate_function(
                    sampler, max_length, with_attention
                ),
            ),
        )

    def _returns_attention_scores(self):
        layer = getattr(self.decoder, "conditioning_layer", None)
        if layer is not None and hasattr(layer, "returns_attention_scores"):
            return bool(layer.returns_attention_scores)
        return self.decoder.conditioning == "attention"

    # ------------------------------------------------------- validation

    def _check_images(self, images):
        images = _training_data.to_numpy(images, "images")
        if self.encoder is None:
            expected_rank = len(
                getattr(self, "_build_shapes", {}).get("images", images.shape)
            )
            _validation.check_rank(
                "images",
                images.shape,
                max(expected_rank, 1),
                f"(batch, ...) of rank {max(expected_rank, 1)}, the "
                "precomputed features the model was built for",
            )
            if not np.issubdtype(images.dtype, np.floating):
                raise TypeError(
                    "`images` must be float features with `encoder=None`. "
                    f"Received dtype {images.dtype}."
                )
        else:
            _validation.check_rank(
                "images", images.shape, 4, "(batch, height, width, 3)"
            )
            if images.shape[-1] != 3:
                raise ValueError(
                    "`images` must have shape (batch, height, width, 3). "
                    f"Received shape {images.shape}."
                )
            if not (
                images.dtype == np.uint8
                or np.issubdtype(images.dtype, np.floating)
            ):
                raise TypeError(
                    "`images` must be uint8 or float pixel values in "
                    f"[0, 255]. Received dtype {images.dtype}."
                )
        if images.shape[0] == 0:
            raise ValueError(
                "`images` is an empty batch. Pass at least one image."
            )
        return images
        if images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(
                "`images` must have shape (batch, height, width, 3). Received "
                f"shape {images.shape}."
            )
        if not (
            images.dtype == np.uint8 or np.issubdtype(images.dtype, np.floating)
        ):
            raise TypeError(
                "`images` must be uint8 or float pixel values in [0, 255]. "
                f"Received dtype {images.dtype}."
            )
        return images

    # ----------------------------------------------------------- config

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": self.tokenizer.vocabulary,
                "encoder": keras.saving.serialize_keras_object(self.encoder)
                if self.encoder is not None
                else None,
                "feature_to_sequence": keras.saving.serialize_keras_object(
                    self.feature_to_sequence
                ),
                "decoder": keras.saving.serialize_keras_object(self.decoder),
                "max_length": self.max_length,
                "preprocessing": keras.saving.serialize_keras_object(
                    self.preprocessing
                )
                if self.preprocessing is not None
                else None,
                "encoder_trainable": self.encoder_trainable,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in (
            "encoder",
            "feature_to_sequence",
            "decoder",
            "preprocessing",
        ):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    # ---------------------------------------------------- self-critical

    def fit_self_critical(
        self,
        x,
        references=None,
        epochs=1,
        batch_size=16,
        num_samples=5,
        baseline="mean",
        **kwargs,
    ):
        """Self-critical sequence training: optimises CIDEr-D directly.

        After cross-entropy training (`fit`), samples `num_samples`
        captions per image with the compiled sampler, rewards each with
        CIDEr-D against the image's references (document frequencies from
        the training references, computed once), and raises the
        log-probability of the samples that beat the baseline (Rennie et
        al. 2017). See `docs/self_critical.rst`.

        This is Keras training: `keras.Model.fit` of the captioner itself,
        fed a `keras.utils.PyDataset` that samples each batch with the
        current weights and computes its rewards, with
        `keras_captioning.losses.SelfCriticalLoss` compiled for the phase.
        Callbacks (`BackupAndRestore`, `ModelCheckpoint`, `EarlyStopping`,
        `TensorBoard`), `verbose` and distribution work as for `fit`. The
        update is a Keras training step (dropout on); sampling runs in
        inference mode. Afterwards the captioner is compiled as before,
        with its optimizer and that optimizer's state.

        Args:
            x: images `(n, height, width, 3)`, or a `tf.data.Dataset` /
                `keras.utils.PyDataset` of `(images, references)` batches.
            references: one list of caption strings per image; `None` with
                a dataset (its references are read in one pass before
                training, for the document frequencies).
            epochs: int. Passes over the images.
            batch_size: int. Images per step; each step trains on
                `batch_size * num_samples` captions. With arrays, the last
                batch of an epoch is filled up from the epoch's start, so
                every step has one shape.
            num_samples: int. Captions sampled per image.
            baseline: `"mean"` (the mean reward of the image's other
                samples, ruotianluo's "new self-critical") or `"greedy"`
                (the reward of the greedy caption, Rennie et al.).
            **kwargs: `validation_data=(images, references)` (adds
                `val_CIDEr-D` to the logs, greedy captions),
                `keep_best_weights` (default `True`: with validation data,
                the phase ends with the weights of its best
                `val_CIDEr-D`, the starting weights included), `callbacks`,
                `verbose`, `shuffle`, `optimizer` (default: a fresh
                `Adam(5e-5, clipnorm=5.0)`; pass `captioner.optimizer` to
                continue with the one of `compile()`), `temperature` of the
                sampler, `initial_epoch`, `validation_batch_size`, and
                `reward`: a callable `reward(hypotheses, references) ->
                array` replacing CIDEr-D.

        Returns:
            A `keras.callbacks.History` whose logs hold `loss`, `reward`
            (mean reward of the samples), `baseline_reward` and
            `val_CIDEr-D`.

        Reference:
            Rennie et al., "Self-critical Sequence Training for Image
            Captioning", CVPR 2017.

        Example:

        >>> captioner = keras_captioning.models.ImageCaptioner(
        ...     ["a", "red", "blue", "circle"], max_length=4,
        ...     decoder={"embedding_dim": 8, "units": 8},
        ...     feature_to_sequence={"units": 8},
        ... )
        >>> captioner.compile()
        >>> images = np.zeros((2, 32, 32, 3), "uint8")
        >>> references = [["a red circle"], ["a blue circle"]]
        >>> history = captioner.fit_self_critical(
        ...     images, references, batch_size=2, num_samples=2, verbose=0
        ... )
        >>> sorted(history.history)
        ['baseline_reward', 'loss', 'reward']
        """
        from keras_captioning.models import _self_critical

        return _self_critical.fit_self_critical(
            self,
            x,
            references,
            epochs=epochs,
            batch_size=batch_size,
            num_samples=num_samples,
            baseline=baseline,
            **kwargs,
        )

    def save(self, filepath, overwrite=True, **kwargs):
        """Saves like `keras.Model.save`, but a kill never loses the file.

        The model is written to a temporary name beside `filepath`, then
        renamed over it: the previous file stays intact until the new one
        is complete. In a multi-process job only process 0 writes.
        """
        return _atomic.save_model(super().save, filepath, overwrite, **kwargs)

    # ----------------------------------------------------------- export

    def export(
        self,
        filepath,
        format="tf_saved_model",
        strategy="greedy",
        beam_width=3,
        max_length=None,
        quantize=None,
    ):
        """Exports the captioner with generation inside, for serving.

        Overrides `keras.Model.export`, which would export only `call()`
        (the teacher-forced logits). The SavedModel returns caption
        strings; LiteRT and ONNX files return token ids, with the
        vocabulary beside them. Needs the TensorFlow backend. See
        `keras_captioning.export.export_captioner` for every argument.
        """
        from keras_captioning.export import export_captioner

        return export_captioner(
            self,
            filepath,
            format=format,
            strategy=strategy,
            beam_width=beam_width,
            max_length=max_length,
            quantize=quantize,
        )


def _component(value, layer_class, defaults, argument):
    if value is None:
        return layer_class(**defaults)
    if isinstance(value, dict):
        return layer_class(**{**defaults, **value})
    if isinstance(value, layer_class):
        return value
    raise TypeError(
        f"`{argument}` must be None, a {layer_class.__name__} or a dict of "
        f"its keyword arguments. Received: {argument}={value!r}"
    )


def _split_inputs(inputs):
    if not isinstance(inputs, dict) or set(inputs) != {"images", "token_ids"}:
        raise ValueError(
            "ImageCaptioner is called on a dict with the keys 'images' and "
            "'token_ids'. Received: "
            f"{sorted(inputs) if isinstance(inputs, dict) else type(inputs)}"
        )
    return inputs["images"], inputs["token_ids"]


def _split_input_shape(input_shape):
    if not isinstance(input_shape, dict):
        raise ValueError(
            "ImageCaptioner is built from a dict of shapes with the keys "
            f"'images' and 'token_ids'. Received: {input_shape!r}"
        )
    return input_shape["images"], input_shape["token_ids"]
