"""`CaptioningTask`: what every captioning model shares.

Generation, the text and data entry points (`tokenize`, `fit`, `evaluate`
through `preprocessor`), self-critical training, saving and export; a
concrete task such as `ImageCaptioner` adds its layers, `call` and
`compile` defaults.
"""

import keras
import numpy as np
from keras import ops

from keras_captioning import _atomic
from keras_captioning import _distribution
from keras_captioning import _validation
from keras_captioning import generation
from keras_captioning.layers import conditioning as conditioning_modes
from keras_captioning.models import _compiled_generation
from keras_captioning.models import _training_data

# Compiled generation functions kept per model (one per sampler
# configuration, `max_length` and options), least recently used dropped.
GENERATE_FUNCTION_CACHE_SIZE = 8


class CaptioningTask(keras.Model):
    """Base class of captioning models: generation from images, in one place.

    The way KerasHub's `CausalLM` holds `generate` for its language models,
    this class holds it for captioners: `generate` checks its arguments
    once, hands the images to `preprocessor` (lists of any sizes and file
    paths become resized batches), and runs one compiled function per batch,
    made by `make_generate_function` from `generate_step`, which calls
    `call_with_cache` once per token. `caption` returns strings. The
    compiled functions are cached per sampler configuration, `max_length`
    and options (the 8 most recently used).

    A subclass provides what differs: `preprocessor` (an
    `ImageCaptionerPreprocessor`), `decoder` (a `CaptionDecoder`),
    `max_length` and `encode_images(images, training)`; its `build` records
    the input shapes it was built for. `ImageCaptioner` is the concrete
    task. The base also holds what every task does the same way through
    those: `tokenize` / `detokenize`, `fit` / `evaluate` on images and
    token ids, `fit_self_critical`, an atomic `save` and `export`.

    Generation runs greedy search, beam search or sampling inside one
    compiled loop (`tf.function` with XLA on TensorFlow, `jax.jit` on JAX,
    eager on PyTorch; plain Python with `compile(run_eagerly=True)`) with the
    decoder's recurrent state as the cache, one cell update per token.

    Example:

    >>> import numpy as np
    >>> import keras_captioning
    >>> captioner = keras_captioning.models.ImageCaptioner(
    ...     ["a", "red", "circle"], max_length=4, image_size=(32, 32),
    ...     decoder={"embedding_dim": 8, "units": 8},
    ...     feature_to_sequence={"units": 8},
    ... )
    >>> isinstance(captioner, keras_captioning.models.CaptioningTask)
    True
    >>> photos = [np.zeros((48, 64, 3), "uint8"), np.zeros((30, 30, 3))]
    >>> captioner.generate(photos).shape
    (2, 5)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # A plain object, so Keras does not track it (see `FunctionCache`).
        self._generate_functions = _compiled_generation.FunctionCache(
            GENERATE_FUNCTION_CACHE_SIZE
        )
        # `jit_compile` as given to `compile` (Keras resolves "auto" to no
        # XLA on a CPU; generation's loop gains the most from it).
        self._generate_jit_compile = "auto"
        # The input shapes of `build`, for `get_build_config`.
        self._build_shapes = None

    # ------------------------------------------------ text and data

    # The preprocessor's text side, on the task as KerasHub tasks have it.
    tokenizer = property(
        lambda self: self.preprocessor.tokenizer,
        doc="The `CaptionTokenizer`, `preprocessor.tokenizer`.",
    )
    vocabulary = property(
        lambda self: self.preprocessor.vocabulary,
        doc="The vocabulary, special tokens first.",
    )

    def tokenize(self, captions):
        """Captions to token ids; see `ImageCaptionerPreprocessor.tokenize`."""
        return self.preprocessor.tokenize(captions)

    def detokenize(self, token_ids):
        """Token ids to strings; see `ImageCaptionerPreprocessor.detokenize`."""
        return self.preprocessor.detokenize(token_ids)

    def get_build_config(self):
        if not self.built:
            return None
        return {"input_shape": self._build_shapes}

    def build_from_config(self, config):
        self.build(config["input_shape"])

    def compile_from_config(self, config):
        # `compile` is overridden, so Keras leaves restoring it to the model:
        # a loaded captioner comes back compiled, optimizer state included.
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def fit(self, x=None, y=None, validation_data=None, **kwargs):
        """Trains on images with their token ids (see the class docstring).

        `x` is images (`uint8` or float; a stacked array, a list of images
        of any sizes or file paths, resized by `preprocessor`) and `y` the
        rows of `tokenize`, or
        `x` is a `tf.data.Dataset` / `keras.utils.PyDataset` / generator of
        `(images, token_ids)` batches. `validation_data` takes the same
        forms. Other arguments are those of `keras.Model.fit`; `shuffle`
        defaults to `False` for datasets and generators, which Keras cannot
        shuffle (shuffle them when you build them).
        """
        _distribution.check_tf_config()
        x, y, kwargs = _training_data.teacher_forcing_inputs(
            x, y, kwargs, self.preprocessor
        )
        if _training_data.yields_batches(x):
            kwargs.setdefault("shuffle", False)
        if validation_data is not None:
            validation_data = _training_data.teacher_forcing_validation(
                validation_data, self.preprocessor
            )
        return super().fit(x, y, validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """Evaluates the loss and metrics on `(images, token_ids)` data."""
        x, y, kwargs = _training_data.teacher_forcing_inputs(
            x, y, kwargs, self.preprocessor
        )
        return super().evaluate(x, y, **kwargs)

    @property
    def returns_attention_scores(self):
        """Whether the decoder's conditioning mode returns attention weights.

        Read from the mode itself (`Conditioning.returns_attention_scores`),
        so a registered mode of a user's answers for itself.
        """
        return bool(self.decoder.conditioning_layer.returns_attention_scores)

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
                `[0, 255]`), a list of images of any sizes or image file
                paths, or one path (see `ImageCaptionerPreprocessor`); or
                precomputed features with `encoder=None`. Each image is
                resized to the model's image size before batching.
            strategy: `"greedy"`, `"beam"` or `"sample"`, or a
                `keras_captioning.generation.Sampler`.
            max_length: int or `None`. Most words per caption; `None` uses
                the model's `max_length`.
            batch_size: int. Images per compiled call; the last batch is
                padded to this size so the compiled loop is reused.
            return_scores: bool. Also return each caption's score.
            return_attention_scores: bool. Decoders whose conditioning mode
                returns attention only (`returns_attention_scores`): also
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
        if return_attention_scores and not self.returns_attention_scores:
            modes = _modes_returning_attention()
            raise ValueError(
                "`return_attention_scores=True` needs a decoder whose "
                f"conditioning mode returns attention weights ({modes}). "
                "This model's decoder uses "
                f"conditioning={self.decoder.conditioning!r}."
            )
        sampler = generation.get_sampler(
            strategy,
            vocabulary=self.vocabulary,
            max_length=max_length,
            **strategy_options,
        )
        images = self.preprocessor.check_images(images)
        generate_function = None
        outputs = []
        for batch in self.preprocessor.image_batches(images, batch_size):
            if generate_function is None:
                if not self.built:
                    self.build(
                        {
                            "images": (None, *batch.shape[1:]),
                            "token_ids": (None, None),
                        }
                    )
                sampler, generate_function = self._cached_generate_function(
                    sampler,
                    isinstance(strategy, str),
                    max_length,
                    return_attention_scores,
                )
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

        `images` takes every form `generate` takes: a stacked array, a
        list of images of any sizes, file paths. With
        `return_all_beams=True`, returns one list of strings per image,
        best first.
        """
        token_ids = self.generate(images, **generate_options)
        if isinstance(token_ids, dict):
            token_ids = token_ids["token_ids"]
        if token_ids.ndim == 3:
            return [self.preprocessor.detokenize(beams) for beams in token_ids]
        return self.preprocessor.detokenize(token_ids)

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

        tokenizer = self.preprocessor.tokenizer
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
        requested = self._generate_jit_compile
        return _compiled_generation.compile_function(
            generate_function,
            variables=self.variables,
            updated_variables=sampler.variables,
            jit_compile=True if requested == "auto" else bool(requested),
        )

    # ------------------------------------------- training and export

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

        This is Keras training: `fit` of the captioner itself, fed a
        `keras.utils.PyDataset` that samples each batch with the current
        weights and computes its rewards (the inputs shifted by the
        preprocessor's `teacher_forcing`, as for `fit`), with
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
                sampler, `initial_epoch`, `validation_batch_size`,
                `reward`: a callable `reward(hypotheses, references) ->
                array` replacing CIDEr-D, and `seed` (int or `None`: the
                shuffling of the images and the sampler's draws; `None`
                takes one from Python's generator, which
                `keras.utils.set_random_seed` seeds).

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
        >>> history = captioner.fit_self_critical(  # doctest: +SKIP
        ...     images, references, batch_size=2, num_samples=2, verbose=0
        ... )
        >>> sorted(history.history)  # doctest: +SKIP
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
        **generation_options,
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
            **generation_options,
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
            self._generate_jit_compile,
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


def _modes_returning_attention():
    names = [
        name
        for name in conditioning_modes.names()
        if conditioning_modes.get(name).returns_attention_scores
    ]
    return ", ".join(f"conditioning={name!r}" for name in names)
