"""`keras-captioning train`: train on a Karpathy split file and score.

Builds the vocabulary from the training captions, trains an
`ImageCaptioner` end to end from image files (or, with
`--freeze-encoder`, only the decoder on cached backbone features, many
times faster), scores beam-search captions of the test split with
BLEU-1..4, ROUGE-L and CIDEr-D (METEOR with `--meteor`) and saves
`--output-dir/captioner.keras`. `examples/train_karpathy.py` runs this.
"""

import argparse
import os
import time

import keras
import numpy as np

import keras_captioning
from keras_captioning.cli import _common
from keras_captioning.cli._common import positive_int
from keras_captioning.datasets import flickr8k
from keras_captioning.datasets import karpathy
from keras_captioning.layers import conditioning
from keras_captioning.models import backbones

DESCRIPTION = (
    "Train an image captioner on Flickr8k, Flickr30k or COCO from local "
    "files and score it on the test split."
)
ENCODERS = backbones.available_encoders()
DEFAULT_ENCODER = "mobilenet_v3_small"
CONDITIONING_MODES = conditioning.names()


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
    parser.add_argument(
        "--image-dir",
        required=True,
        help="Folder the images are read from (for COCO, the folder holding "
        "train2014/ and val2014/).",
    )
    parser.add_argument(
        "--encoder",
        choices=ENCODERS,
        default=DEFAULT_ENCODER,
        metavar="NAME",
        help="simple_cnn or a keras.applications network by name (every "
        "one in keras_captioning.models.backbones.available_encoders()).",
    )
    parser.add_argument(
        "--encoder-weights",
        default=None,
        help="'imagenet' (Keras's pretrained weights, downloaded once into "
        "the Keras cache) or a local weights file of the backbone "
        "(include_top=False). Random initialisation when not given.",
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
        help="Square image size fed to the encoder; the backbone's own "
        "(224, or 300 for efficientnet_b3) when not given.",
    )
    parser.add_argument(
        "--conditioning", choices=CONDITIONING_MODES, default="attention"
    )
    parser.add_argument("--units", type=positive_int, default=512)
    parser.add_argument("--embedding-dim", type=positive_int, default=256)
    parser.add_argument("--feature-units", type=positive_int, default=512)
    parser.add_argument("--dropout", type=float, default=0.3)
    parser.add_argument(
        "--attention-regularization",
        type=float,
        default=0.02,
        help="Weight of the doubly stochastic attention penalty of Xu et al. "
        "(attention only). The penalty is summed over image positions, so "
        "about 1 / positions (a 7x7 map has 49) weighs it like the mean "
        "over positions that is common with weight 1.",
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
    parser.add_argument("--epochs", type=positive_int, default=20)
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
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
        help="Use only the first images of the training split (quick runs).",
    )
    parser.add_argument(
        "--max-eval-images",
        type=positive_int,
        default=None,
        help="Use only the first images of the validation and test splits.",
    )
    parser.add_argument(
        "--meteor",
        action="store_true",
        help="Also compute METEOR (needs pycocoevalcap and Java).",
    )
    parser.add_argument(
        "--output-dir", default=os.path.join("outputs", "karpathy")
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1)


def check_args(parser, args):
    """The checks argparse cannot express; `parser.error` exits with 2."""
    if not 0 <= args.dropout < 1:
        parser.error(f"--dropout must be in [0, 1). Received: {args.dropout}")
    if args.attention_regularization < 0:
        parser.error(
            "--attention-regularization must be >= 0. Received: "
            f"{args.attention_regularization}"
        )
    if not 0 < args.learning_rate < 1:
        parser.error(
            f"--learning-rate must be in (0, 1). Received: {args.learning_rate}"
        )
    if args.encoder == "simple_cnn" and args.encoder_weights is not None:
        parser.error(
            "--encoder-weights is for the keras.applications backbones; "
            "simple_cnn always starts from random weights."
        )


def parse_args(argv=None, prog=None):
    parser = argparse.ArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    configure(parser)
    args = parser.parse_args(argv)
    check_args(parser, args)
    return args


def load_split(args, split):
    if args.karpathy_json is not None:
        paths, references = karpathy.load_split(
            args.karpathy_json, args.image_dir, split
        )
    else:
        paths, references = flickr8k.load_split(
            args.flickr8k_text_dir, args.image_dir, split
        )
    limit = args.max_train_images if split == "train" else args.max_eval_images
    if limit is not None:
        paths, references = paths[:limit], references[:limit]
    if not paths:
        raise ValueError(
            f"The {split!r} split is empty. Check --karpathy-json or "
            "--flickr8k-text-dir."
        )
    return paths, references


class FeatureBatches(keras.utils.PyDataset):
    """`(features, token_ids)` batches, one row per (image, caption) pair.

    Cached features are gathered batch by batch rather than repeated once
    per caption up front, which would multiply their memory by five.
    """

    def __init__(self, features, references, tokenizer, batch_size, seed):
        super().__init__()
        self.features = features
        counts = [len(captions) for captions in references]
        self.token_ids = tokenizer.tokenize(
            [caption for captions in references for caption in captions]
        )
        self.feature_rows = np.repeat(np.arange(len(references)), counts)
        self.batch_size = batch_size
        self.rng = None if seed is None else np.random.default_rng(seed)
        self.order = np.arange(len(self.token_ids))
        self.on_epoch_end()

    def __len__(self):
        return -(-len(self.order) // self.batch_size)

    def __getitem__(self, index):
        rows = self.order[
            index * self.batch_size : (index + 1) * self.batch_size
        ]
        # Sorted indices keep reads from a memory-mapped cache sequential.
        features = self.features[np.sort(self.feature_rows[rows])]
        token_ids = self.token_ids[rows[np.argsort(self.feature_rows[rows])]]
        return np.asarray(features), token_ids

    def on_epoch_end(self):
        if self.rng is not None:
            self.order = self.rng.permutation(len(self.token_ids))


def build_captioner(args, vocabulary, encoder, image_size=None):
    decoder = {
        "conditioning": args.conditioning,
        "units": args.units,
        "embedding_dim": args.embedding_dim,
        "dropout": args.dropout,
    }
    if args.conditioning == "attention":
        decoder["attention_regularization"] = args.attention_regularization
    options = {}
    if encoder is not None:
        options = {
            "image_size": image_size,
            "encoder_trainable": not args.freeze_encoder,
            "encoder_weights": args.encoder_weights,
        }
    return keras_captioning.models.ImageCaptioner(
        vocabulary,
        encoder=encoder,
        feature_to_sequence={
            "units": args.feature_units,
            "activation": "relu",
            "dropout": args.dropout,
        },
        decoder=decoder,
        max_length=args.max_length,
        **options,
    )


def compile_captioner(captioner, args):
    captioner.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=5.0)
    )


def train_end_to_end(captioner, args, train, validation, image_size):
    """Fits the encoder and decoder together on images read from files."""

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

    return captioner.fit(
        dataset(train, True),
        validation_data=dataset(validation, False),
        epochs=args.epochs,
        # make_dataset shuffles every epoch itself; Keras cannot shuffle a
        # tf.data pipeline and would only warn.
        shuffle=False,
        verbose=args.verbose,
    )


def train_on_cached_features(captioner, args, train, validation, image_size):
    """Fits only the decoder, on the frozen encoder's cached features.

    A second captioner with `encoder=None` reads the features; its trained
    weights are then copied into `captioner`, whose frozen encoder computes
    the same features from images.
    """
    captioner.build(
        {"images": (None, *image_size, 3), "token_ids": (None, None)}
    )
    # The encoder receives uint8 images, so the scaling belongs inside it.
    extractor = keras.Sequential(
        [captioner.preprocessing, captioner.encoder], name="feature_extractor"
    )

    def features(split):
        return keras_captioning.data.cache_features(
            extractor,
            split[0],
            args.cache_dir,
            batch_size=args.batch_size,
            image_size=image_size,
            mmap_mode="r",
            verbose=min(args.verbose, 1),
        )

    head = build_captioner(args, captioner.vocabulary, encoder=None)
    compile_captioner(head, args)
    train_batches = FeatureBatches(
        features(train), train[1], head.tokenizer, args.batch_size, args.seed
    )
    validation_batches = FeatureBatches(
        features(validation), validation[1], head.tokenizer, 256, None
    )
    history = head.fit(
        train_batches,
        validation_data=validation_batches,
        epochs=args.epochs,
        verbose=args.verbose,
    )
    captioner.feature_to_sequence.set_weights(
        head.feature_to_sequence.get_weights()
    )
    captioner.decoder.set_weights(head.decoder.get_weights())
    # Give the captioner's own optimizer its slots too, so the saved file
    # holds an optimizer that matches the model and fine-tuning can resume.
    captioner.optimizer.build(captioner.trainable_variables)
    return history


def train(args):
    """Runs the training the options describe; returns a dict with the
    test `"scores"` and `"captions"`, the `"history"` and `"model_path"`."""
    start = time.perf_counter()
    keras.utils.set_random_seed(args.seed)
    os.makedirs(args.output_dir, exist_ok=True)

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
        requested = (224, 224)
    captioner = build_captioner(args, vocabulary, args.encoder, requested)
    # Named backbones fill in their own input size.
    image_size = tuple(captioner.preprocessing.image_size)
    compile_captioner(captioner, args)

    train_start = time.perf_counter()
    if args.freeze_encoder:
        history = train_on_cached_features(
            captioner, args, train, validation, image_size
        )
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
        _common.ImageFiles(test[0], image_size),
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
    """`parse_args` then `train`: what `examples/train_karpathy.py` runs."""
    return train(parse_args(argv, prog))


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "train",
        help="Train a captioner from a Karpathy split file (Flickr8k, "
        "Flickr30k, COCO) and local images.",
        description=DESCRIPTION,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    configure(parser)
    parser.set_defaults(run=lambda args: _run(parser, args))


def _run(parser, args):
    check_args(parser, args)
    try:
        train(args)
    except ValueError as error:
        _common.report_failure(f"keras-captioning train: error: {error}")
        return 1
    return 0
