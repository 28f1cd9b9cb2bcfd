import keras
from keras import ops

from keras_captioning import _validation
from keras_captioning.layers.caption_decoder import CaptionDecoder
from keras_captioning.layers.feature_to_sequence import FeatureToSequence
from keras_captioning.losses.caption_crossentropy import CaptionCrossentropy
from keras_captioning.metrics.masked_token_accuracy import MaskedTokenAccuracy
from keras_captioning.models import _encoder_fine_tuning
from keras_captioning.models import _feature_training
from keras_captioning.models._encoders import build_component
from keras_captioning.models._encoders import build_image_path
from keras_captioning.models.captioning_task import CaptioningTask
from keras_captioning.models.image_captioner_preprocessor import (
    ImageCaptionerPreprocessor,
)
from keras_captioning.text.caption_tokenizer import CaptionTokenizer
from keras_captioning.text.special_tokens import SPECIAL_TOKENS


@keras.saving.register_keras_serializable(package="keras_captioning")
class ImageCaptioner(CaptioningTask):
    """An image captioning model: CNN encoder and recurrent decoder, trained
    together, with compiled generation and captions as strings.

    The model chains `ImagePreprocessing` (raw `uint8` images in, at training
    and caption time alike), an encoder, `FeatureToSequence` and
    `CaptionDecoder`. Its `preprocessor`, an `ImageCaptionerPreprocessor`,
    owns the `CaptionTokenizer` built from the vocabulary and turns what a
    user has (stacked arrays, lists of images of any sizes, file paths)
    into batches resized the way the command-line tool resizes files.
    Everything, the vocabulary included, is part of its config,
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

    Generation comes from `CaptioningTask`, the base class:
    `generate(images, strategy=...)` runs greedy search, beam search or
    sampling inside one compiled loop with the decoder's recurrent state as
    the cache, one cell update per token. `caption` returns strings. The
    steps are public hooks a subclass may override: `call_with_cache` (one
    decoder step), `generate_step` (one batch) and `make_generate_function`
    (its compiled form).

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
        encoder_trainable: bool. `True` trains the encoder with the
            decoder (on the schedule of the `encoder_*` arguments below);
            `False` freezes it for good (batch normalisation then runs in
            inference mode). Defaults to `True`.
        encoder_weights: for a named backbone, `None` (random
            initialisation), `"imagenet"` (Keras's pretrained weights without
            the classifier, downloaded once by `keras.utils.get_file` into
            the Keras cache, `~/.keras/models`, and read from there
            afterwards, offline too) or the path of a local weights file.
            Defaults to `None`.
        encoder_pretrained: bool or `None`. Whether the encoder arrives
            with trained weights. `None` infers it: `True` for a name with
            `encoder_weights` and for a built Keras layer or model (a loaded
            `.keras` file, for example), `False` for `"simple_cnn"`, a name
            without weights and an unbuilt layer. Pass `False` for a built
            but untrained network. It sets the defaults of the next three
            arguments; see the "Your pretrained encoder" guide.
        encoder_learning_rate_multiplier: float > 0 or `None`. The share of
            the optimizer's update the encoder keeps once it trains: its
            learning rate relative to the decoder's. `None` gives `0.25`
            for a pretrained encoder, `1.0` otherwise.
        encoder_warmup_steps: int >= 0 or `None`. Training steps (the
            optimizer's `iterations`, saved with the model) during which
            the encoder is not updated while the decoder learns to read its
            features. `None` gives `60` for a pretrained encoder, `0`
            otherwise.
        encoder_inference_mode: bool or `None`. Whether the encoder runs
            in inference mode during training too, so its
            BatchNormalization layers keep their learned statistics (and
            its dropout is off). `None` gives `True` for a pretrained
            encoder, `False` otherwise.
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
    >>> history = captioner.fit(  # doctest: +SKIP
    ...     images, token_ids, epochs=1, verbose=0
    ... )
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
        encoder_pretrained=None,
        encoder_learning_rate_multiplier=None,
        encoder_warmup_steps=None,
        encoder_inference_mode=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _validation.check_bool("encoder_trainable", encoder_trainable)
        _validation.check_int("max_length", max_length)
        tokenizer = CaptionTokenizer(vocabulary, max_length=max_length)
        if len(tokenizer.vocabulary) <= len(SPECIAL_TOKENS):
            raise ValueError(
                "`vocabulary` must hold at least one word besides the "
                f"special tokens {SPECIAL_TOKENS}, or the model has nothing "
                f"to write. Received: vocabulary={vocabulary!r}"
            )
        self.max_length = tokenizer.max_length
        self.encoder_trainable = encoder_trainable
        (
            self.encoder_pretrained,
            self.encoder_learning_rate_multiplier,
            self.encoder_warmup_steps,
            self.encoder_inference_mode,
        ) = _encoder_fine_tuning.resolve(
            encoder,
            encoder_weights,
            encoder_pretrained,
            encoder_learning_rate_multiplier,
            encoder_warmup_steps,
            encoder_inference_mode,
        )

        self.encoder, self.preprocessing = build_image_path(
            encoder, image_size, preprocessing, encoder_weights
        )
        if self.encoder is not None:
            self.encoder.trainable = encoder_trainable

        self.feature_to_sequence = build_component(
            feature_to_sequence,
            FeatureToSequence,
            {"units": 256, "activation": "relu", "name": "feature_to_sequence"},
            "feature_to_sequence",
        )
        self.decoder = build_component(
            decoder,
            CaptionDecoder,
            {
                "vocabulary_size": tokenizer.vocabulary_size,
                "embedding_dim": 256,
                "units": 512,
                # The strongest mode measured on the shapes data at an equal
                # training budget (docs/conditioning.rst).
                "conditioning": "attention",
                "name": "decoder",
            },
            "decoder",
        )
        if self.decoder.vocabulary_size != tokenizer.vocabulary_size:
            raise ValueError(
                "The decoder's `vocabulary_size` must equal the vocabulary's "
                f"size with special tokens: expected "
                f"{tokenizer.vocabulary_size}, received "
                f"{self.decoder.vocabulary_size}."
            )
        # A plain object (like the tokenizer it holds): Keras does not track
        # it, so saved files keep the layout of earlier releases.
        self.preprocessor = ImageCaptionerPreprocessor(
            tokenizer,
            image_size=getattr(self.preprocessing, "image_size", None),
            image_features=self.encoder is None,
        )

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
        self.preprocessor.build(images_shape)
        self._build_shapes = {
            "images": tuple(images_shape),
            "token_ids": tuple(token_ids_shape),
        }
        self.built = True

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
            # A pretrained network's BatchNormalization keeps the statistics
            # it learned (Keras's transfer-learning guide).
            features = self.encoder(
                features,
                training=False if self.encoder_inference_mode else training,
            )
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
                clipnorm=5.0)`, wrapped in a
                `keras_captioning.optimizers.EncoderFineTuningOptimizer`
                when the encoder trains on its own schedule
                (`encoder_warmup_steps` or
                `encoder_learning_rate_multiplier`, set by default for a
                pretrained encoder), or any Keras optimizer (then the
                encoder trains at its pace unless you wrap it yourself).
            loss: `"auto"` for `CaptionCrossentropy(label_smoothing)`, the
                cross-entropy averaged over real tokens only, or any loss.
            metrics: `"auto"` for `[MaskedTokenAccuracy()]`, or a list.
            label_smoothing: float in `[0, 1)`, used by the `"auto"` loss.
            **kwargs: passed to `keras.Model.compile` (for example
                `jit_compile`).
        """
        optimizer = _encoder_fine_tuning.compile_optimizer(self, optimizer)
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
        self._generate_jit_compile = kwargs.get("jit_compile", "auto")

    # ----------------------------------------------------------- config

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": self.preprocessor.vocabulary,
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
                "encoder_pretrained": self.encoder_pretrained,
                "encoder_learning_rate_multiplier": (
                    self.encoder_learning_rate_multiplier
                ),
                "encoder_warmup_steps": self.encoder_warmup_steps,
                "encoder_inference_mode": self.encoder_inference_mode,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = {**_encoder_fine_tuning.OLD_CONFIG_DEFAULTS, **config}
        for key in (
            "encoder",
            "feature_to_sequence",
            "decoder",
            "preprocessing",
        ):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    # ------------------------------------------------- cached features

    def fit_on_features(
        self,
        x,
        references,
        cache_dir,
        validation_data=None,
        batch_size=32,
        epochs=1,
        seed=None,
        verbose="auto",
        **kwargs,
    ):
        """Trains the decoder half on the frozen encoder's cached features.

        The recipe of `keras-captioning train --freeze-encoder`, many times
        faster than `fit` when the encoder is not trained: the encoder
        (with `preprocessing`) runs once over the images, its features are
        cached by `keras_captioning.data.cache_features` in `cache_dir` (a
        later call with the same encoder and images reads them back), and
        `feature_to_sequence` and `decoder` train on them for `epochs`,
        one row per (image, caption) pair. A method rather than a second
        model to build: the trained layers are this captioner's own, so it
        captions from images straight afterwards, and `save` keeps them.

        It is `keras.Model.fit` of an `encoder=None` captioner that shares
        those two layers, so `callbacks` (`BackupAndRestore` resumes,
        `EarlyStopping`, `ModelCheckpoint` of that model's weights) work as
        for `fit`. It trains with a fresh optimizer of the compiled one's
        configuration (the wrapped one of an `EncoderFineTuningOptimizer`)
        that starts from the compiled optimizer's state and hands it back:
        its step count (`iterations`) and the decoder's slots (Adam's
        moments). The compiled optimizer is built for this model's
        variables, so fine-tuning end to end continues from it, and an
        `encoder_warmup_steps` schedule counts the cached steps. The
        encoder is not trained, whatever `encoder_trainable` says;
        `fine_tune` runs this phase and fine-tuning in one call.

        Args:
            x: image file paths or a uint8 array `(n, height, width, 3)`,
                as `cache_features` takes them; resized to the model's size.
            references: one list of caption strings per image.
            cache_dir: str or path-like. Where the features are cached.
            validation_data: `None` or `(images, references)` like `x` and
                `references`, for `val_loss`.
            batch_size: int. (image, caption) rows per step, and images per
                encoder call. Defaults to `32`.
            epochs: int. Defaults to `1`.
            seed: int or `None`. Seed of the shuffling of rows (epoch `e`
                is shuffled by `(seed, e)`). Defaults to `None`.
            verbose: as for `fit`; `0` also silences the caching.
            **kwargs: other arguments of `keras.Model.fit`, such as
                `callbacks` and `initial_epoch`.

        Returns:
            The `keras.callbacks.History` of the training.

        Example:

        >>> import tempfile
        >>> captioner = keras_captioning.models.ImageCaptioner(
        ...     ["a", "red", "blue", "circle"], max_length=4,
        ...     image_size=(32, 32), encoder_trainable=False,
        ...     decoder={"embedding_dim": 8, "units": 8},
        ...     feature_to_sequence={"units": 8},
        ... )
        >>> captioner.compile()
        >>> images = np.zeros((2, 32, 32, 3), "uint8")
        >>> references = [["a red circle"], ["a blue circle", "a circle"]]
        >>> with tempfile.TemporaryDirectory() as cache_dir:  # doctest: +SKIP
        ...     history = captioner.fit_on_features(
        ...         images, references, cache_dir, epochs=2, verbose=0
        ...     )
        >>> len(history.history["loss"])  # doctest: +SKIP
        2
        >>> len(captioner.caption(images))
        2
        """
        return _feature_training.fit_on_features(
            self,
            x,
            references,
            cache_dir,
            batch_size=batch_size,
            seed=seed,
            validation_data=validation_data,
            epochs=epochs,
            verbose=verbose,
            **kwargs,
        )

    def fine_tune(
        self,
        x,
        references,
        cache_dir,
        warmup_epochs=2,
        epochs=1,
        validation_data=None,
        batch_size=32,
        seed=None,
        verbose="auto",
        **kwargs,
    ):
        """Warms the decoder up on cached features, then trains end to end.

        The recommended recipe for an encoder that carries trained weights,
        in one call: first `warmup_epochs` of `fit_on_features` (the
        encoder runs once, in inference mode, and its features are cached
        in `cache_dir`; the decoder then trains on them many times faster
        than on images), then `epochs` of `fit` on the images, the encoder
        fine-tuned at `encoder_learning_rate_multiplier` of the decoder's
        learning rate and, with `encoder_inference_mode`, its
        BatchNormalization statistics kept.

        The warm-up follows the optimizer's step count (`iterations`, saved
        with the model), which the cached phase advances like any training
        step: it trains on features only while fewer than `warmup_epochs`
        epochs of steps are done. A second call, or a captioner loaded
        from a `.keras` file saved after the warm-up, goes on with
        fine-tuning. The encoder's own schedule (`encoder_warmup_steps`)
        counts the cached steps too, so it is usually over when
        fine-tuning starts.

        Args:
            x: image file paths or a uint8 array `(n, height, width, 3)`,
                as `fit_on_features` takes them.
            references: one list of caption strings per image; every
                (image, caption) pair is one row of an epoch.
            cache_dir: str or path-like. Where the features are cached.
            warmup_epochs: int >= 0. Epochs on cached features before
                fine-tuning. Defaults to `2`.
            epochs: int >= 0. Epochs end to end after the warm-up.
                Defaults to `1`.
            validation_data: `None` or `(images, references)`, for
                `val_loss` in both phases.
            batch_size: int. Rows per step in both phases. Defaults to
                `32`.
            seed: int or `None`. Seed of the shuffling of rows. Defaults to
                `None`.
            verbose: as for `fit`.
            **kwargs: other arguments of `keras.Model.fit` for both phases,
                such as `callbacks`. The phases train two models (the
                cached phase the decoder half), so a `BackupAndRestore`
                backup of one does not fit the other: to resume a killed
                run, save the captioner (`save`, or `ModelCheckpoint` to a
                `.keras` file), load it and call `fine_tune` again.

        Returns:
            A `keras.callbacks.History` of the epochs of both phases.

        Example:

        >>> import tempfile
        >>> encoder = keras.Sequential(
        ...     [keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3)]
        ... )  # a built network: it carries trained weights
        >>> captioner = keras_captioning.models.ImageCaptioner(
        ...     ["a", "red", "blue", "circle"], encoder=encoder,
        ...     max_length=4, decoder={"embedding_dim": 8, "units": 8},
        ...     feature_to_sequence={"units": 8},
        ... )
        >>> captioner.compile()
        >>> images = np.zeros((2, 32, 32, 3), "uint8")
        >>> references = [["a red circle"], ["a blue circle"]]
        >>> with tempfile.TemporaryDirectory() as cache_dir:  # doctest: +SKIP
        ...     history = captioner.fine_tune(
        ...         images, references, cache_dir, warmup_epochs=2,
        ...         epochs=1, verbose=0,
        ...     )
        >>> len(history.epoch)  # doctest: +SKIP
        3
        """
        return _encoder_fine_tuning.fine_tune(
            self,
            x,
            references,
            cache_dir,
            warmup_epochs=warmup_epochs,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            validation_data=validation_data,
            verbose=verbose,
            **kwargs,
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
