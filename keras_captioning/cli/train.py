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
import time

from keras_captioning.cli import _common
from keras_captioning.cli._common import positive_int

NAME = "train"
HELP = (
    "Train a captioner from a Karpathy split file (Flickr8k, Flickr30k, "
    "COCO) and local images."
)
MODEL = False  # The subcommand writes a model rather than reading one.
DESCRIPTION = (
    "Train an image captioner on Flickr8k, Flickr30k, COCO or your own "
    "captions (--captions, any common form) from local files and score it "
    "on the test split."
)
SPLITS = ("train", "validation", "test")
# simple_cnn keeps any input size; this one trains an epoch of a few
# hundred photos in well under a minute on two CPU cores (see
# benchmarks/bench_cli_train.py).
SIMPLE_CNN_IMAGE_SIZE = 64
# The one default of the command that is not the library's: see --dropout.
DEFAULT_DROPOUT = 0.3
# Options passed to `training.build_captioner` under their own names.
CAPTIONER_OPTIONS = (
    "encoder_weights",
    "freeze_encoder",
    "encoder_learning_rate_multiplier",
    "encoder_warmup_steps",
    "conditioning",
    "units",
    "embedding_dim",
    "feature_units",
    "dropout",
    "attention_regularization",
)
# Seconds a process waits for the others of a KERAS_DISTRIBUTION_* cluster.
TIMEOUT_VARIABLE = "KERAS_CAPTIONING_DISTRIBUTION_TIMEOUT"


# The training options, after the caption sources of `data_arguments`.
OPTIONS = {
    "--holdout": dict(
        type=float,
        default=0.1,
        help="With --captions data that has no split: the fraction of the "
        "images held out for validation, and again for test (by image, "
        "seeded by --seed; default: 0.1).",
    ),
    "--encoder": dict(
        default="mobilenet_v3_small",
        metavar="NAME",
        help="simple_cnn or a keras.applications network: one of "
        "keras_captioning.models.backbones.available_encoders().",
    ),
    "--encoder-weights": dict(
        help="'imagenet' (Keras's pretrained weights, downloaded once into "
        "the Keras cache) or a local weights file of the backbone "
        "(include_top=False) (default: random initialisation).",
    ),
    "--freeze-encoder": dict(
        action="store_true",
        help="Do not train the backbone; cache its features and train the "
        "decoder only.",
    ),
    "--encoder-learning-rate-multiplier": dict(
        type=float,
        metavar="FACTOR",
        help="The encoder's learning rate as a share of the decoder's once "
        "it trains (default: 0.25 with --encoder-weights, else 1).",
    ),
    "--encoder-warmup-steps": dict(
        type=int,
        metavar="STEPS",
        help="Training steps before the encoder is updated, while the "
        "decoder learns to read its features (default: 60 with "
        "--encoder-weights, else 0).",
    ),
    "--encoder-inference-mode": dict(
        choices=("yes", "no"),
        help="Run the encoder in inference mode while training, so its "
        "BatchNormalization keeps its statistics (default: yes with "
        "--encoder-weights, else no).",
    ),
    "--cache-dir": dict(
        default=os.path.join("outputs", "feature_cache"),
        help="Where --freeze-encoder keeps the computed features.",
    ),
    "--image-size": dict(
        type=positive_int,
        help="Square image size fed to the encoder (default: the "
        "backbone's own, 224 or 300 for efficientnet_b3; "
        f"{SIMPLE_CNN_IMAGE_SIZE} for simple_cnn).",
    ),
    "--conditioning": dict(
        default="attention",
        metavar="MODE",
        help="How the image enters the decoder: one of "
        "keras_captioning.layers.conditioning.names().",
    ),
    # Sizes and the learning rate default to the library's (`None` passes
    # nothing), so the command trains the model a user of the library gets.
    **{
        flag: dict(
            type=positive_int,
            help=f"{what} (default: ImageCaptioner's, {size}).",
        )
        for flag, what, size in (
            ("--units", "Units of the decoder's recurrent layer", 512),
            ("--embedding-dim", "Size of the word embeddings", 256),
            (
                "--feature-units",
                "Size the image features are projected to",
                256,
            ),
        )
    },
    "--dropout": dict(
        type=float,
        default=DEFAULT_DROPOUT,
        help="Dropout on the image features, the embeddings and the "
        "decoder outputs (default: 0.3; the library's layers have none, "
        "but photos with a few captions each overfit).",
    ),
    "--attention-regularization": dict(
        type=float,
        help="Weight of Xu et al.'s doubly stochastic attention penalty "
        "(modes that take it, such as attention), summed over image "
        "positions: about 1 / positions (a 7x7 map has 49) weighs it like "
        "the common mean with weight 1 (default: the mode's own, none).",
    ),
    "--min-count": dict(
        type=positive_int,
        default=5,
        help="Occurrences a word needs in the training captions to enter "
        "the vocabulary.",
    ),
    "--max-length": dict(
        type=positive_int,
        default=20,
        help="Most words per caption; longer training captions are cut.",
    ),
    "--epochs": dict(type=positive_int, default=20, help="Training epochs."),
    "--batch-size": dict(
        type=positive_int,
        default=32,
        help="(image, caption) pairs per training step.",
    ),
    "--learning-rate": dict(
        type=float,
        help="Adam's learning rate, gradients clipped to norm 5 (default: "
        "ImageCaptioner.compile()'s, 1e-3).",
    ),
    "--beam-width": dict(
        type=positive_int,
        default=3,
        help="Beams kept when captioning the test split.",
    ),
    **{
        flag: dict(
            type=positive_int,
            help=f"Use only the first images of the {which} (default: all).",
        )
        for flag, which in (
            ("--max-train-images", "training split, for quick runs"),
            ("--max-eval-images", "validation and test splits"),
        )
    },
    "--meteor": dict(action="store_true", help=_common.METEOR_HELP),
    "--output-dir": dict(
        default=os.path.join("outputs", "karpathy"),
        help="Where captioner.keras is saved. A backup of every finished "
        "epoch is kept in its backup/ folder (Keras's BackupAndRestore): "
        "the same command run again after a kill or Ctrl-C resumes from "
        "it, and a finished run deletes it.",
    ),
    "--fresh": dict(
        action="store_true",
        help="Delete the backup of an interrupted run in --output-dir and "
        "train from the first epoch.",
    ),
    "--seed": dict(type=int, default=0, help="Seed of weights and shuffling."),
    "--verbose": dict(
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="Keras's fit verbosity: 0 silent, 1 progress bar, 2 one line "
        "per epoch.",
    ),
}


def configure(parser):
    """Adds the training options to `parser`."""
    _common.data_arguments(
        parser,
        captions_help="Without a split of its own, --holdout of the images "
        "are held out for validation and as many for test.",
        skip_missing_help="Go on without the listed images that are missing "
        "or not readable images, saying how many were skipped (by default "
        "the run stops before it starts, naming them; default: off).",
        flickr8k=True,
    )
    _common.add_options(parser, OPTIONS)


def check_args(parser, args):
    """The checks argparse cannot express; `parser.error` exits with 2."""
    if not 0 <= args.dropout < 1:
        parser.error(f"--dropout must be in [0, 1). Received: {args.dropout}")
    penalty = args.attention_regularization
    if penalty is not None and penalty < 0:
        parser.error(
            f"--attention-regularization must be >= 0. Received: {penalty}"
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


def load_splits(args):
    """`{split: (paths, references)}`; a missing or malformed caption file
    or image folder is a `UsageError`, bad images follow `--skip-missing`.
    `--captions` data without its own splits is split by `--holdout`."""
    if args.captions is None:
        splits = {name: _common.load_captions(args, name) for name in SPLITS}
    elif set(SPLITS) <= set(_common.load_captions(args, None).available_splits):
        splits = {name: _common.load_captions(args, name) for name in SPLITS}
        print(splits["train"].describe())
    else:
        if not 0 < args.holdout < 0.5:
            raise _common.UsageError(
                f"--holdout must be in (0, 0.5). Received: {args.holdout}"
            )
        splits = _common.load_captions(
            args,
            {"validation": args.holdout, "test": args.holdout},
            flags="--captions and --holdout",
            seed=args.seed,
        )
        print(splits["train"].describe())
    for name in SPLITS:
        limit = (
            args.max_train_images if name == "train" else args.max_eval_images
        )
        paths, references = splits[name]
        paths, references = paths[:limit], references[:limit]
        if not paths:
            raise _common.UsageError(
                f"the {name!r} split is empty. Check --karpathy-json, "
                "--flickr8k-text-dir or --captions."
            )
        splits[name] = _common.drop_bad_images(
            paths, references, args.skip_missing, name
        )
    return splits


def build_captioner(args, vocabulary, encoder, image_size=None):
    """`training.build_captioner` of the options; a bad combination of
    options (the library's `ValueError`/`TypeError`) is a `UsageError`."""
    mode = args.encoder_inference_mode
    try:
        return _common.import_library().training.build_captioner(
            vocabulary,
            encoder=encoder,
            image_size=image_size,
            encoder_inference_mode=None if mode is None else mode == "yes",
            max_length=args.max_length,
            **{name: getattr(args, name) for name in CAPTIONER_OPTIONS},
        )
    except (ValueError, TypeError) as error:
        raise _common.UsageError(_common.one_line(error)) from error


def compile_captioner(captioner, args):
    library = _common.import_library()
    library.training.compile_captioner(captioner, args.learning_rate)


def fit(captioner, args, train, validation):
    """`training.train_captioner` with its backup in `--output-dir/backup`
    (printing where a run resumes); a Ctrl-C raises a `KeyboardInterrupt`
    whose text says which epoch is kept and how to resume."""
    library = _common.import_library()
    index = library.distribution.process_index()
    # Each process of a cluster keeps its own backup (they may share a disk).
    path = os.path.join(
        args.output_dir, "backup" + (f"-process-{index}" if index else "")
    )

    def resuming(kept):
        where = (
            f"epoch {kept + 1} of {args.epochs}"
            if kept < args.epochs
            else f"the end (all {args.epochs} epochs had finished)"
        )
        print(
            f"Resuming from the backup in {path} at {where}; --fresh "
            "starts over."
        )

    if args.fresh and os.path.isdir(path):
        shutil.rmtree(path)
    try:
        return library.training.train_captioner(
            captioner,
            train,
            validation,
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=args.seed,
            cache_dir=args.cache_dir if args.freeze_encoder else None,
            backup_dir=path,
            on_resume=resuming,
            verbose=args.verbose,
        )
    except ValueError as error:
        if not str(error).startswith("cannot resume from the backup"):
            raise
        raise _common.UsageError(
            f"{error} Add --fresh to start over."
        ) from error
    except KeyboardInterrupt:
        kept = library.callbacks.backed_up_epochs(path)
        if not kept:
            raise KeyboardInterrupt(
                "no epoch had finished, so there is nothing to resume from"
            ) from None
        raise KeyboardInterrupt(
            f"epoch {kept} of {args.epochs} is kept in {path}; run the same "
            "command again to resume."
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
    library = _common.import_library()
    # Read after parsing, so that `--help` does not import Keras.
    encoders = library.models.backbones.available_encoders()
    modes = library.layers.conditioning.names()
    for flag, value, names in (
        ("--encoder", args.encoder, encoders),
        ("--conditioning", args.conditioning, modes),
    ):
        if value not in names:
            raise _common.UsageError(
                f"{flag} {value!r} is not one of {', '.join(names)}."
            )
    process = library.distribution.process_index()
    if _cluster:
        print(
            f"Process {process} of a cluster: training data-parallel over "
            f"{_cluster[0].device_mesh.devices.size} devices; process 0 "
            "writes the files."
        )
    keras.utils.set_random_seed(args.seed)

    splits = load_splits(args)
    (train, references), validation, test = (splits[n] for n in SPLITS)
    vocabulary = library.text.build_vocabulary(
        references, min_count=args.min_count
    )
    print(
        f"{len(train)} training, {len(validation[0])} validation and "
        f"{len(test[0])} test images; {len(vocabulary)} tokens (words seen "
        f"at least {args.min_count} times, special tokens included)."
    )
    if args.freeze_encoder and args.encoder_weights is None:
        print(
            "Warning: --freeze-encoder without --encoder-weights trains the "
            "decoder on a randomly initialised, untrained encoder."
        )
    size = args.image_size
    if args.encoder == "simple_cnn":
        size = size or SIMPLE_CNN_IMAGE_SIZE
    try:
        captioner = build_captioner(
            args, vocabulary, args.encoder, size and (size, size)
        )
    except OSError as error:  # The ImageNet weights cannot be downloaded.
        raise _common.DataError(_common.one_line(error)) from error
    # Named backbones fill in their own input size.
    height, width = captioner.preprocessor.target_size
    compile_captioner(captioner, args)
    print(f"Images read at {height}x{width}.")
    weight = getattr(
        captioner.decoder.conditioning_layer, "attention_regularization", 0
    )
    if weight:
        print(
            "The loss printed is the caption cross-entropy (per word) plus "
            f"the attention penalty: {weight:g} x the sum over image "
            "positions of (1 - attention the position received over the "
            "caption)^2, averaged over captions. --attention-regularization "
            "sets its weight."
        )
    os.makedirs(args.output_dir, exist_ok=True)

    train_start = time.perf_counter()
    history = fit(captioner, args, (train, references), validation)
    train_seconds = time.perf_counter() - train_start

    print(
        f"\nCaptioning the {len(test[0])} test images with beam search "
        f"(width {args.beam_width}) ..."
    )
    scores, captions = library.metrics.evaluate_captioner(
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
    for path, caption, refs in list(zip(test[0], captions, test[1]))[:5]:
        print(f"  {os.path.basename(path)}: {caption}\n      ref: {refs[0]}")

    model_path = os.path.join(args.output_dir, "captioner.keras")
    captioner.save(model_path)
    summary = ", ".join(f"{name} {value:.3f}" for name, value in scores.items())
    print(f"\nTest scores: {summary}")
    if process:
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
    code = _common.run_subcommand(
        prog or "train", lambda args: result.update(train(args)), args
    )
    if code:
        raise SystemExit(code)
    return result


def run(args):
    train(args)
    return 0
