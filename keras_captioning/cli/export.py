"""`keras-captioning export`: a served artifact from a saved model."""

import argparse
import os

from keras_captioning.cli import _common

HELP = (
    "Export a .keras captioner with generation inside: a TensorFlow "
    "SavedModel (captions as strings), LiteRT or ONNX (token ids, with "
    "the vocabulary as JSON beside)."
)


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "export",
        help=HELP,
        description=HELP + " Runs on the TensorFlow backend whatever the "
        "model was trained on.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("model", help="The saved `.keras` captioner.")
    parser.add_argument(
        "output",
        help="SavedModel folder (for TensorFlow Serving: "
        "MODEL_NAME/VERSION, e.g. serving/captioner/1), or the .tflite / "
        ".onnx file.",
    )
    parser.add_argument(
        "--format",
        choices=("tf_saved_model", "litert", "onnx"),
        default="tf_saved_model",
    )
    parser.add_argument(
        "--strategy", choices=("greedy", "beam"), default="greedy"
    )
    parser.add_argument("--beam-width", type=_common.positive_int, default=3)
    parser.add_argument(
        "--max-length",
        type=_common.positive_int,
        default=None,
        help="Most words per caption; the model's own limit by default.",
    )
    parser.add_argument(
        "--quantize",
        choices=("dynamic",),
        default=None,
        help="LiteRT only: dynamic-range quantisation (int8 weights).",
    )
    parser.set_defaults(run=run)


def run(args):
    import keras

    if keras.backend.backend() != "tensorflow":
        raise _common.UsageError(
            "export needs the TensorFlow backend; run it with "
            "KERAS_BACKEND=tensorflow (a model trained on any backend "
            "loads there)."
        )
    if args.quantize and args.format != "litert":
        raise _common.UsageError("--quantize applies to --format litert only")
    captioner = _common.load_captioner(args.model)
    if args.format == "tf_saved_model" and os.path.exists(
        os.path.join(args.output, "saved_model.pb")
    ):
        raise _common.UsageError(
            f"{args.output!r} already holds a SavedModel; export a new "
            "version into a new folder."
        )
    try:
        path = captioner.export(
            args.output,
            format=args.format,
            strategy=args.strategy,
            beam_width=args.beam_width,
            max_length=args.max_length,
            quantize=args.quantize,
        )
    except (ValueError, ImportError) as error:
        _common.report_failure(f"keras-captioning export: error: {error}")
        return 1
    print(path)
    return 0
