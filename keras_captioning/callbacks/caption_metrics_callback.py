import keras

from keras_captioning import _validation
from keras_captioning.metrics.corpus import tokenize_corpus
from keras_captioning.metrics.evaluation import evaluate_captioner


class CaptionMetricsCallback(keras.callbacks.Callback):
    """Scores the model's captions of validation images during training.

    Every `every_n_epochs` epochs, the callback captions `images` with
    `self.model.caption(images, **generate_options)` in batches, scores the
    captions against `references` with
    `keras_captioning.metrics.evaluate_captioner` and writes each score into
    the epoch's `logs` under `prefix + name`: `val_BLEU-1` to `val_BLEU-4`,
    `val_ROUGE-L` and `val_CIDEr-D` by default. Callbacks that run after it
    in the same epoch therefore see the scores: `History` (so
    `model.fit(...).history["val_CIDEr-D"]`), `EarlyStopping`,
    `ModelCheckpoint` and `TensorBoard` can all monitor them.

    Keras calls callbacks in the order of the `callbacks` list and adds
    `History` and the progress bar after them, so list this callback
    before any callback that monitors its scores. On epochs it skips, the
    keys are absent from `logs`: `History` then holds one value per
    evaluation, not per epoch, and `EarlyStopping` counts patience in
    evaluations.

    With `verbose` set, the scores and the first `num_samples` captions,
    each beside its first reference, are printed after each evaluation;
    the same images are shown every time, so progress is easy to follow.

    Args:
        images: array-like of validation images supporting `len()` and
            slicing (a NumPy array, for example), in the form the model's
            `caption` method expects.
        references: list with one entry per image, each a list of one or
            more reference captions (str). Checked when the callback is
            created.
        every_n_epochs: int. Evaluate after every this many epochs (after
            epochs `every_n_epochs`, `2 * every_n_epochs`, ...). Defaults
            to `1`.
        batch_size: int. Number of images captioned per `caption` call.
            Defaults to `32`.
        num_samples: int. Number of sample captions printed after each
            evaluation, at most the number of images. `0` prints none.
            Defaults to `3`.
        verbose: `0` (silent), `1` (progress bar while captioning, then
            scores and samples) or `2` (scores and samples only). Defaults
            to `1`.
        prefix: str. Put before each metric name to form the `logs` key.
            Defaults to `"val_"`.
        **generate_options: keyword arguments passed on to
            `self.model.caption`, such as a decoding strategy or a maximum
            length.

    Example:

    >>> callback = keras_captioning.callbacks.CaptionMetricsCallback(
    ...     np.zeros((2, 64, 64, 3)),
    ...     [["a dog runs on the grass"], ["two cats on a sofa"]],
    ...     every_n_epochs=2,
    ... )
    >>> early_stopping = keras.callbacks.EarlyStopping(
    ...     monitor="val_CIDEr-D", mode="max", patience=3
    ... )
    >>> # model.fit(dataset, epochs=20, callbacks=[callback, early_stopping])
    """

    def __init__(
        self,
        images,
        references,
        every_n_epochs=1,
        batch_size=32,
        num_samples=3,
        verbose=1,
        prefix="val_",
        **generate_options,
    ):
        super().__init__()
        for name, value, minimum in (
            ("every_n_epochs", every_n_epochs, 1),
            ("batch_size", batch_size, 1),
            ("num_samples", num_samples, 0),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value < minimum
            ):
                raise ValueError(
                    f"`{name}` must be an int of at least {minimum}. "
                    f"Received: {name}={value!r}"
                )
        if verbose not in (0, 1, 2):
            raise ValueError(
                f"`verbose` must be 0, 1 or 2. Received: verbose={verbose!r}"
            )
        if not isinstance(prefix, str):
            raise TypeError(
                f"`prefix` must be a str. Received: prefix={prefix!r}"
            )
        num_images = _validation.check_images_and_references(images, references)
        # A malformed reference would otherwise only fail at the end of the
        # first evaluated epoch.
        tokenize_corpus(references, [""] * num_images)

        self.images = images
        self.references = references
        self.every_n_epochs = every_n_epochs
        self.batch_size = batch_size
        self.num_samples = num_samples
        self.verbose = verbose
        self.prefix = prefix
        self.generate_options = generate_options

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs != 0:
            return
        if not callable(getattr(self.model, "caption", None)):
            raise TypeError(
                "`CaptionMetricsCallback` captions images with the model's "
                "`caption(images, **options)` method, but the model of type "
                f"{type(self.model).__name__} has none. Use it with a "
                "`keras_captioning.models.ImageCaptioner`."
            )
        if self.verbose == 1:
            # The epoch's progress bar is still on the current line.
            print()
        scores, captions = evaluate_captioner(
            self.model,
            self.images,
            self.references,
            batch_size=self.batch_size,
            verbose=1 if self.verbose == 1 else 0,
            return_captions=True,
            **self.generate_options,
        )
        if logs is not None:
            for name, value in scores.items():
                logs[self.prefix + name] = value
        if self.verbose:
            self._print_report(epoch, scores, captions)

    def _print_report(self, epoch, scores, captions):
        summary = " - ".join(
            f"{self.prefix}{name}: {value:.4f}"
            for name, value in scores.items()
        )
        lines = [f"Epoch {epoch + 1} caption metrics: {summary}"]
        for index in range(min(self.num_samples, len(captions))):
            lines.append(f"  image {index}: generated: {captions[index]!r}")
            lines.append(
                f"  {' ' * len(str(index))}        reference: "
                f"{self.references[index][0]!r}"
            )
        print("\n".join(lines))
