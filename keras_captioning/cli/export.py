"""`keras-captioning export`: a served artifact from a saved model."""

import os

from keras_captioning.cli import _common

NAME = "export"
HELP = (
    "Export a .keras captioner with generation inside: a TensorFlow "
    "SavedModel (captions as strings), LiteRT or ONNX (token ids, with "
    "the vocabulary as JSON beside)."
)


DESCRIPTION = (
    HELP + " Runs on the TensorFlow backend whatever the model was trained on."
)
OPTIONS = {
    "output": dict(
        help="SavedModel folder (for TensorFlow Serving: "
        "MODEL_NAME/VERSION, e.g. serving/captioner/1), or the .tflite / "
        ".onnx file."
    ),
    "--format": dict(
        choices=("tf_saved_model", "litert", "onnx"),
        default="tf_saved_model",
        help="The artifact to write.",
    ),
    "--quantize": dict(
        choices=("dynamic",),
        help="LiteRT only: dynamic-range quantisation (int8 weights) "
        "(default: none).",
    ),
}


def configure(parser):
    _common.add_options(parser, OPTIONS)
    _common.generation_arguments(
        parser,
        strategies=("greedy", "beam"),
        strategy_help="Decoding strategy compiled into the artifact.",
        batch_size=False,
    )


def run(args):
    if args.quantize and args.format != "litert":
        raise _common.UsageError(
            "--quantize applies to --format litert only; drop it or add "
            "--format litert."
        )
    _common.check_model_file(args.model)
    if _common.import_keras().backend.backend() != "tensorflow":
        raise _common.UsageError(
            "export needs the TensorFlow backend; run it with "
            "KERAS_BACKEND=tensorflow (a model trained on any backend "
            "loads there)."
        )
    captioner = _common.load_captioner(args.model, args)
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
        quantize=args.quantize,
        **_common.generation_options(args),
    )
    print(path)
    return 0
