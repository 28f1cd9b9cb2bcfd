"""`keras-captioning export`: a served artifact from a saved model."""

import os

from keras_captioning.cli import _common

HELP = (
    "Export a .keras captioner with generation inside: a TensorFlow "
    "SavedModel (captions as strings), LiteRT or ONNX (token ids, with "
    "the vocabulary as JSON beside)."
)


def add_parser(subparsers):
    parser = _common.add_subcommand(
        subparsers,
        "export",
        help=HELP,
        description=HELP + " Runs on the TensorFlow backend whatever the "
        "model was trained on.",
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
        help="The artifact to write.",
    )
    parser.add_argument(
        "--strategy",
        choices=("greedy", "beam"),
        default="greedy",
        help="Decoding strategy compiled into the artifact.",
    )
    parser.add_argument(
        "--beam-width",
        type=_common.positive_int,
        default=3,
        help="Beams kept with --strategy beam.",
    )
    parser.add_argument(
        "--max-length",
        type=_common.positive_int,
        default=None,
        help="Most words per caption (default: the model's own limit).",
    )
    parser.add_argument(
        "--quantize",
        choices=("dynamic",),
        default=None,
        help="LiteRT only: dynamic-range quantisation (int8 weights) "
        "(default: none).",
    )
    _common.control_arguments(parser, sampling=False)
    parser.set_defaults(run=run)


def run(args):
    if args.quantize and args.format != "litert":
        raise _common.UsageError(
            "--quantize applies to --format litert only; drop it or add "
            "--format litert."
        )
    _common.check_model_file(args.model)
    keras = _common.import_keras()

    if keras.backend.backend() != "tensorflow":
        raise _common.UsageError(
            "export needs the TensorFlow backend; run it with "
            "KERAS_BACKEND=tensorflow (a model trained on any backend "
            "loads there)."
        )
    captioner = _common.load_captioner(args.model)
    options = {"strategy": args.strategy, "max_length": args.max_length}
    if args.strategy == "beam":
        options["beam_width"] = args.beam_width
    _common.check_generation_options(
        captioner, {**options, **_common.control_options(args)}
    )
    if args.format == "tf_saved_model" and os.path.exists(
        os.path.join(args.output, "saved_model.pb")
    ):
        raise _common.UsageError(
            f"{args.output!r} already holds a SavedModel; export a new "
            "version into a new folder."
        )
    path = captioner.export(
        args.output,
        format=args.format,
        strategy=args.strategy,
        beam_width=args.beam_width,
        max_length=args.max_length,
        quantize=args.quantize,
        **_common.control_options(args),
    )
    print(path)
    return 0
