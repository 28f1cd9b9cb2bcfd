"""`keras-captioning train`: train on a Karpathy split file and score.

Builds the vocabulary from the training captions, trains an
`ImageCaptioner` end to end from image files (or, with
`--freeze-encoder`, only the decoder on cached backbone features, many
times faster), scores beam-search captions of the test split with
BLEU-1..4, ROUGE-L and CIDEr-D (METEOR with `--meteor`) and saves
`--output-dir/captioner.keras`. `examples/train_karpathy.py` runs this.

Started as several processes with Keras's `KERAS_DISTRIBUTION_*`
variables (JAX backend), it joins that cluster through
`keras_captioning.distribution.set_up_distribution` and trains one
data-parallel model, which process 0 saves.
"""

import os
import shutil
import signal
import threading
import time
import warnings

from keras_captioning.cli import _common
from keras_captioning.cli._common import positive_int

DESCRIPTION = (
    "Train an image captioner on Flickr8k, Flickr30k, COCO or your own "
    "captions (--captions, any common form) from local files and score it "
    "on the test split."
)
DEFAULT_ENCODER = "mobilenet_v3_small"
# simple_cnn keeps any input size; this one trains an epoch of a few
# hundred photos in well under a minute on two CPU cores (see
# benchmarks/bench_cli_train.py).
SIMPLE_CNN_IMAGE_SIZE = 64
DEFAULT_CONDITIONING = "attention"
# The one default of the command that is not the library's: see --dropout.
DEFAULT_DROPOUT = 0.3


def configure(parser):
    """Adds the training options to `parser`."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--karpathy-json",
        help="A Karpathy split file: dataset_flickr8k.json, "
        "dataset_flickr30k.json or dataset_coco.json.",
    )
    source.add_argument(
        "--flickr8k-text-dir",
        help="Folder holding Flickr8k.token.txt and the Flickr_8k.*.txt "
        "split files.",
    )
    source.add_argument(
        "--captions",
        metavar="PATH",
        help="A caption file or folder in any form "
        "keras_captioning.datasets.load_captions reads: COCO's "
        "captions_*.json, a Karpathy file, Flickr8k.token.txt, a CSV / TSV "
        "/ JSON Lines table (Kaggle's captions.txt), Flickr30k's "
        "results.csv or a Hugging Face imagefolder. Without a split of its "
        "own, --holdout of the images are held out for validation and as "
        "many for test.",
    )
    parser.add_argument(
        "--image-dir",
        default=None,
        help="Folder the images are read from (for a Karpathy COCO file, "
        "the folder holding train2014/ and val2014/). Needed with "
        "--karpathy-json and --flickr8k-text-dir; with --captions the "
        "form's usual place when not given (default: none).",
    )
    parser.add_argument(
        "--holdout",
        type=float,
        default=0.1,
        help="With --captions data that has no split: the fraction of the "
        "images held out for validation, and again for test (by image, "
        "seeded by --seed; default: 0.1).",
    )
    _common.captions_arguments(parser)
    parser.add_argument(
        "--encoder",
        default=DEFAULT_ENCODER,
        metavar="NAME",
        help="simple_cnn or a keras.applications network by name (every "
        "one in keras_captioning.models.backbones.available_encoders(); a "
        "name that is not one of them lists them).",
    )
    parser.add_argument(
        "--encoder-weights",
        default=None,
        help="'imagenet' (Keras's pretrained weights, downloaded once into "
        "the Keras cache) or a local weights file of the backbone "
        "(include_top=False) (default: random initialisation).",
    )
    parser.add_argument(
        "--freeze-encoder",
        action="store_true",
        help="Do not train the backbone; cache its features and train the "
        "decoder only.",
    )
    parser.add_argument(
        "--cache-dir",
        default=os.path.join("outputs", "feature_cache"),
        help="Where --freeze-encoder keeps the computed features.",
    )
    parser.add_argument(
        "--image-size",
        type=positive_int,
        default=None,
        help="Square image size fed to the encoder (default: the "
        "backbone's own, 224 or 300 for efficientnet_b3; "
        f"{SIMPLE_CNN_IMAGE_SIZE} for simple_cnn).",
    )
    parser.add_argument(
        "--conditioning",
        default=DEFAULT_CONDITIONING,
        metavar="MODE",
        help="How the image enters the decoder: a mode of "
        "keras_captioning.layers.conditioning.names() (a name that is not "
        "one of them lists them).",
    )
    # Sizes and the learning rate default to the library's (`None` passes
    # nothing), so the command trains the model a user of the library gets.
    parser.add_argument(
        "--units",
        type=positive_int,
        default=None,
        help="Units of the decoder's recurrent layer (default: "
        "ImageCaptioner's, 512).",
    )
    parser.add_argument(
        "--embedding-dim",
        type=positive_int,
        default=None,
        help="Size of the word embeddings (default: ImageCaptioner's, 256).",
    )
    parser.add_argument(
        "--feature-units",
        type=positive_int,
        default=None,
        help="Size the image features are projected to (default: "
        "ImageCaptioner's, 256).",
    )
    parser.add_argument(
        "--dropout",
        type=float,
        default=DEFAULT_DROPOUT,
        help="Dropout on the image features, the embeddings and the "
        "decoder outputs (default: 0.3; the library's layers default to "
        "none, measured on data that does not overfit; photos with a few "
        "captions each over 20 epochs do).",
    )
    parser.add_argument(
        "--attention-regularization",
        type=float,
        default=None,
        help="Weight of the doubly stochastic attention penalty of Xu et al. "
        "(modes that take it, such as attention). The penalty is summed "
        "over image positions, so about 1 / positions (a 7x7 map has 49) "
        "weighs it like the mean over positions that is common with weight "
        "1 (default: the mode's own default, no penalty).",
    )
    parser.add_argument(
        "--min-count",
        type=positive_int,
        default=5,
        help="Occurrences a word needs in the training captions to enter "
        "the vocabulary.",
    )
    parser.add_argument(
        "--max-length",
        type=positive_int,
        default=20,
        help="Most words per caption; longer training captions are cut.",
    )
    parser.add_argument(
        "--epochs", type=positive_int, default=20, help="Training epochs."
    )
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        default=32,
        help="(image, caption) pairs per training step.",
    )
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=None,
        help="Adam's learning rate, gradients clipped to norm 5 (default: "
        "ImageCaptioner.compile()'s, 1e-3).",
    )
    parser.add_argument(
        "--beam-width",
        type=positive_int,
        default=3,
        help="Beams kept when captioning the test split.",
    )
    parser.add_argument(
        "--max-train-images",
        type=positive_int,
        default=None,
        help="Use only the first images of the training split, for quick "
        "runs (default: all).",
    )
    parser.add_argument(
        "--max-eval-images",
        type=positive_int,
        default=None,
        help="Use only the first images of the validation and test splits "
        "(default: all).",
    )
    parser.add_argument(
        "--meteor",
        action="store_true",
        help="Also compute METEOR (needs pycocoevalcap and Java).",
    )
    parser.add_argument(
        "--output-dir",
        default=os.path.join("outputs", "karpathy"),
        help="Where captioner.keras is saved. Training keeps a backup of "
        "every finished epoch in its backup/ folder (Keras's "
        "BackupAndRestore); the same command run again after a kill or "
        "Ctrl-C resumes from it, and a finished run deletes it.",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="Delete the backup of an interrupted run in --output-dir and "
        "train from the first epoch.",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="Seed of weights and shuffling."
    )
    parser.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="Keras's fit verbosity: 0 silent, 1 progress bar, 2 one line "
        "per epoch.",
    )


def check_args(parser, args):
    """The checks argparse cannot express; `parser.error` exits with 2."""
    if not 0 <= args.dropout < 1:
        parser.error(f"--dropout must be in [0, 1). Received: {args.dropout}")
    if (
        args.attention_regularization is not None
        and args.attention_regularization < 0
    ):
        parser.error(
            "--attention-regularization must be >= 0. Received: "
            f"{args.attention_regularization}"
        )
    if args.learning_rate is not None and not 0 < args.learning_rate < 1:
        parser.error(
            f"--learning-rate must be in (0, 1). Received: {args.learning_rate}"
        )
    if args.encoder == "simple_cnn" and args.encoder_weights is not None:
        parser.error(
            "--encoder-weights is for the keras.applications backbones; "
            "simple_cnn always starts from random weights."
        )


def parse_args(argv=None, prog=None):
    parser = _common.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        formatter_class=_common.HelpFormatter,
    )
    configure(parser)
    _common.add_debug_argument(parser)
    args = parser.parse_args(argv)
    check_args(parser, args)
    return args


def load_split(args, split):
    """`(paths, references)` of one split; a missing or malformed caption
    file or image folder is a `UsageError`. Images are checked after."""
    if args.captions is not None:
        paths, references = _captions_splits(args)[split]
    else:
        paths, references = _common.load_named_form(args, split)
    limit = args.max_train_images if split == "train" else args.max_eval_images
    if limit is not None:
        paths, references = paths[:limit], references[:limit]
    if not paths:
        raise _common.UsageError(
            f"the {split!r} split is empty. Check --karpathy-json, "
            "--flickr8k-text-dir or --captions."
        )
    return _common.drop_bad_images(paths, references, args.skip_missing, split)


_loaded = {}


def _captions_splits(args):
    """The train, validation and test splits of `--captions`, read once:
    the file's own splits, or held out by `--holdout` when it has none."""
    key = (args.captions, args.image_dir, args.captions_format, args.seed)
    if key in _loaded:
        return _loaded[key]
    if not 0 < args.holdout < 0.5:
        raise _common.UsageError(
            f"--holdout must be in (0, 0.5). Received: {args.holdout}"
        )
    data = _common.load_captions(
        args.captions, args.image_dir, None, args.captions_format
    )
    available = set(data.available_splits)
    if {"train", "validation", "test"} <= available:
        splits = {
            name: _common.load_captions(
                args.captions, args.image_dir, name, args.captions_format
            )
            for name in ("train", "validation", "test")
        }
    else:
        holdout = {"validation": args.holdout, "test": args.holdout}
        library = _common.import_library()
        try:
            splits = library.datasets.load_captions(
                args.captions,
                args.image_dir,
                split=holdout,
                format=args.captions_format,
                seed=args.seed,
                check_files=False,
            )
        except ValueError as error:
            raise _common.UsageError(
                f"{_common.one_line(error)} (check --captions and --holdout)"
            ) from error
    print(splits["train"].describe())
    _loaded.clear()
    _loaded[key] = splits
    return splits


def check_names(args):
    """`--encoder` and `--conditioning` against the library's own lists
    (read after parsing, so `--help` does not import Keras)."""
    library = _common.import_library()
    conditioning = library.layers.conditioning
    backbones = library.models.backbones

    for flag, value, names in (
        ("--encoder", args.encoder, backbones.available_encoders()),
        ("--conditioning", args.conditioning, conditioning.names()),
    ):
        if value not in names:
            raise _common.UsageError(
                f"{flag} {value!r} is not one of {', '.join(names)}."
            )


def build_captioner(args, vocabulary, encoder, image_size=None):
    """The `ImageCaptioner` the options describe; a bad combination of
    options (the library's `ValueError`/`TypeError`) is a `UsageError`."""
    keras_captioning = _common.import_library()

    decoder = _given(
        conditioning=args.conditioning,
        units=args.units,
        embedding_dim=args.embedding_dim,
        dropout=args.dropout,
    )
    # Only when given: the mode's own default applies otherwise, and a
    # mode without the penalty refuses it.
    if args.attention_regularization is not None:
        decoder["attention_regularization"] = args.attention_regularization
    options = {}
    if encoder is not None:
        options = {
            "image_size": image_size,
            "encoder_trainable": not args.freeze_encoder,
            "encoder_weights": args.encoder_weights,
        }
    try:
        return keras_captioning.models.ImageCaptioner(
            vocabulary,
            encoder=encoder,
            feature_to_sequence=_given(
                units=args.feature_units, dropout=args.dropout
            ),
            decoder=decoder,
            max_length=args.max_length,
            **options,
        )
    except (ValueError, TypeError) as error:
        raise _common.UsageError(_common.one_line(error)) from error


def _given(**options):
    """The options given; the library's defaults apply to the others."""
    return {name: value for name, value in options.items() if value is not None}


def compile_captioner(captioner, args):
    if args.learning_rate is None:
        captioner.compile()
        return
    keras = _common.import_keras()
    captioner.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=5.0)
    )


def describe_loss(captioner, image_size):
    """What the printed loss is made of, or `None` for cross-entropy only."""
    weight = getattr(
        captioner.decoder.conditioning_layer, "attention_regularization", 0
    )
    if not weight:
        return None
    return (
        "The loss printed is the caption cross-entropy (per word) plus the "
        f"attention penalty: {weight:g} x the sum over image positions of "
        "(1 - attention the position received over the caption)^2, "
        "averaged over captions. --attention-regularization sets its "
        "weight."
    )


BACKUP_FOLDER = "backup"
# Seconds a process waits for the others of a KERAS_DISTRIBUTION_* cluster.
TIMEOUT_VARIABLE = "KERAS_CAPTIONING_DISTRIBUTION_TIMEOUT"


class _InterruptLatch:
    """Turns a Ctrl-C during `fit` into a stop at the next batch's end.

    Python's own handler raises `KeyboardInterrupt` wherever the main
    thread happens to be: in a finalizer (TensorFlow frees an epoch's data
    iterator in one), where Python prints "Exception ignored" and carries
    on as if never interrupted, or in a callback that TensorFlow's C++ code
    makes, which it does not expect to fail (a run killed that way with
    SIGSEGV in CI). The latch's handler only records the signal; `check`,
    called by the backup callback after every batch, raises it from
    ordinary code. A second Ctrl-C gets the previous handler back, so it
    stops the run at once. Installed only over Python's default handler,
    in the main thread.
    """

    def __init__(self):
        self.interrupted = False
        self._previous = None

    def _handle(self, signum, frame):
        self.interrupted = True
        signal.signal(signal.SIGINT, self._previous)

    def __enter__(self):
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False

    def check(self):
        if self.interrupted:
            raise KeyboardInterrupt


def fit_with_backup(fit, args, data, **kwargs):
    """`fit(data, **kwargs)` (`fit` or `fit_on_features` of the captioner)
    with a `BackupAndRestore` callback in
    `--output-dir/backup`: resumes from a backup it finds there (printing
    where), and on Ctrl-C raises a `KeyboardInterrupt` whose text says
    which epoch is kept and how to resume."""
    keras = _common.import_keras()
    backed_up_epochs = _common.import_library().callbacks.backed_up_epochs
    index = _common.import_library().distribution.process_index()
    # Each process of a cluster keeps its own backup (they may share a disk).
    path = os.path.join(
        args.output_dir, BACKUP_FOLDER + (f"-process-{index}" if index else "")
    )
    epochs = kwargs["epochs"]

    class Backup(keras.callbacks.BackupAndRestore):
        kept = 0  # Epochs finished and saved in the backup.

        def on_train_begin(self, logs=None):
            found = os.path.isdir(path) and bool(os.listdir(path))
            # Keras warns about each layer of a backup that does not fit
            # before it fails; those warnings are kept for a success only.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    super().on_train_begin(logs)
                except (OSError, ValueError) as error:
                    failed = error
                else:
                    failed = None
            if failed is not None:
                # Keras's own message lists every layer; --debug shows it.
                raise _common.UsageError(
                    f"cannot resume from the backup in {path}: it does not "
                    f"fit this model ({type(failed).__name__}; was it made "
                    "with other options?). Add --fresh to start over."
                ) from failed
            for warning in caught:
                warnings.warn_explicit(
                    warning.message,
                    warning.category,
                    warning.filename,
                    warning.lineno,
                )
            if not found:
                return
            self.kept = backed_up_epochs(path)
            where = (
                f"epoch {self.kept + 1} of {epochs}"
                if self.kept < epochs
                else f"the end (all {epochs} epochs had finished)"
            )
            print(
                f"Resuming from the backup in {path} at {where}; --fresh "
                "starts over."
            )

        def on_train_batch_end(self, batch, logs=None):
            latch.check()
            super().on_train_batch_end(batch, logs)

        def on_test_batch_end(self, batch, logs=None):
            latch.check()

        def on_epoch_end(self, epoch, logs=None):
            latch.check()
            super().on_epoch_end(epoch, logs)
            self.kept = epoch + 1

    if args.fresh and os.path.isdir(path):
        shutil.rmtree(path)
    backup = Backup(path, double_checkpoint=True)
    try:
        with _InterruptLatch() as latch:
            history = fit(data, callbacks=[backup], **kwargs)
            latch.check()
        return history
    except KeyboardInterrupt:
        # Ctrl-C can land after the backup is written but before
        # `on_epoch_end` returns: what resumes is what the backup holds.
        backup.kept = backed_up_epochs(path) or backup.kept
        if not backup.kept:
            raise KeyboardInterrupt(
                "no epoch had finished, so there is nothing to resume from"
            ) from None
        raise KeyboardInterrupt(
            f"epoch {backup.kept} of {epochs} is kept in {path}; run the "
            "same command again to resume."
        ) from None


_cluster = []  # The distribution `_set_up_distribution` set, if any.


def _set_up_distribution():
    from keras_captioning import distribution

    text = os.environ.get(TIMEOUT_VARIABLE) or "300"
    try:
        data_parallel = distribution.set_up_distribution(float(text))
    except (ValueError, RuntimeError) as error:  # Variables, backend.
        raise _common.UsageError(
            f"{_common.one_line(error)} (check {TIMEOUT_VARIABLE} and the "
            "KERAS_DISTRIBUTION_* variables)"
        ) from error
    _cluster[:] = [data_parallel] if data_parallel is not None else []


def train_end_to_end(captioner, args, train, validation, image_size):
    """Fits the encoder and decoder together on images read from files."""
    keras_captioning = _common.import_library()

    def dataset(split, shuffle):
        paths, references = split
        return keras_captioning.data.make_dataset(
            paths,
            references,
            captioner.tokenizer,
            batch_size=args.batch_size,
            image_size=image_size,
            shuffle=shuffle,
            seed=args.seed,
        )

    captioner.build(
        {"images": (None, *image_size, 3), "token_ids": (None, None)}
    )
    return fit_with_backup(
        captioner.fit,
        args,
        dataset(train, True),
        validation_data=dataset(validation, False),
        epochs=args.epochs,
        # make_dataset shuffles every epoch itself; Keras cannot shuffle a
        # tf.data pipeline and would only warn.
        shuffle=False,
        verbose=args.verbose,
    )


def train_on_cached_features(captioner, args, train, validation):
    """Fits only the decoder, on the frozen encoder's cached features
    (`ImageCaptioner.fit_on_features`)."""
    return fit_with_backup(
        captioner.fit_on_features,
        args,
        train[0],
        references=train[1],
        cache_dir=args.cache_dir,
        validation_data=validation,
        batch_size=args.batch_size,
        epochs=args.epochs,
        seed=args.seed,
        verbose=args.verbose,
    )


def train(args):
    """Runs the training the options describe; returns a dict with the
    test `"scores"` and `"captions"`, the `"history"` and `"model_path"`.

    Raises `UsageError` for bad options or files, `DataError` when the
    encoder's weights cannot be had.
    """
    start = time.perf_counter()
    # A cluster of KERAS_DISTRIBUTION_* variables is joined before the
    # backend starts; process 0 writes the files.
    keras = _common.import_keras(set_up=_set_up_distribution)
    check_names(args)
    keras_captioning = _common.import_library()
    if _cluster:
        index = keras_captioning.distribution.process_index()
        devices = _cluster[0].device_mesh.devices.size
        print(
            f"Process {index} of a cluster: training data-parallel over "
            f"{devices} devices; process 0 writes the files."
        )
    keras.utils.set_random_seed(args.seed)

    train = load_split(args, "train")
    validation = load_split(args, "validation")
    test = load_split(args, "test")
    vocabulary = keras_captioning.text.build_vocabulary(
        train[1], min_count=args.min_count
    )
    print(
        f"{len(train[0])} training, {len(validation[0])} validation and "
        f"{len(test[0])} test images; {len(vocabulary)} tokens (words seen "
        f"at least {args.min_count} times, special tokens included)."
    )
    if args.freeze_encoder and args.encoder_weights is None:
        print(
            "Warning: --freeze-encoder without --encoder-weights trains the "
            "decoder on a randomly initialised, untrained encoder."
        )

    requested = None if args.image_size is None else (args.image_size,) * 2
    if args.encoder == "simple_cnn" and requested is None:
        requested = (SIMPLE_CNN_IMAGE_SIZE, SIMPLE_CNN_IMAGE_SIZE)
    try:
        captioner = build_captioner(args, vocabulary, args.encoder, requested)
    except OSError as error:  # The ImageNet weights cannot be downloaded.
        raise _common.DataError(_common.one_line(error)) from error
    # Named backbones fill in their own input size.
    image_size = tuple(captioner.preprocessing.image_size)
    compile_captioner(captioner, args)
    print(f"Images read at {image_size[0]}x{image_size[1]}.")
    loss_text = describe_loss(captioner, image_size)
    if loss_text:
        print(loss_text)
    os.makedirs(args.output_dir, exist_ok=True)

    train_start = time.perf_counter()
    if args.freeze_encoder:
        history = train_on_cached_features(captioner, args, train, validation)
    else:
        history = train_end_to_end(
            captioner, args, train, validation, image_size
        )
    train_seconds = time.perf_counter() - train_start

    print(
        f"\nCaptioning the {len(test[0])} test images with beam search "
        f"(width {args.beam_width}) ..."
    )
    scores, captions = keras_captioning.metrics.evaluate_captioner(
        captioner,
        test[0],  # read and resized by the captioner's preprocessor
        test[1],
        batch_size=args.batch_size,
        verbose=min(args.verbose, 1),
        include_meteor=args.meteor,
        return_captions=True,
        strategy="beam",
        beam_width=args.beam_width,
    )
    for index in range(min(5, len(captions))):
        print(f"  {os.path.basename(test[0][index])}: {captions[index]}")
        print(f"      ref: {test[1][index][0]}")

    model_path = os.path.join(args.output_dir, "captioner.keras")
    captioner.save(model_path)
    summary = ", ".join(f"{name} {value:.3f}" for name, value in scores.items())
    print(f"\nTest scores: {summary}")
    if keras_captioning.distribution.process_index():
        print(f"Process 0 saves {os.path.basename(model_path)}.")
    else:
        print(f"Saved {model_path}")
    print(
        f"Training time {train_seconds:.1f} s, total time "
        f"{time.perf_counter() - start:.1f} s."
    )
    return {
        "scores": scores,
        "captions": captions,
        "history": history.history,
        "model_path": model_path,
    }


def main(argv=None, prog=None):
    """`parse_args` then `train`, under the command's error policy: what
    `examples/train_karpathy.py` runs. Returns `train`'s dict, or exits
    with the policy's exit code and one line on stderr."""
    args = parse_args(argv, prog)
    result = {}

    def run(args):
        result.update(train(args))

    code = _common.run_subcommand(prog or "train", run, args)
    if code:
        raise SystemExit(code)
    return result


def add_parser(subparsers):
    parser = _common.add_subcommand(
        subparsers,
        "train",
        help="Train a captioner from a Karpathy split file (Flickr8k, "
        "Flickr30k, COCO) and local images.",
        description=DESCRIPTION,
    )
    configure(parser)
    parser.set_defaults(run=lambda args: _run(parser, args))


def _run(parser, args):
    check_args(parser, args)
    train(args)
    return 0
