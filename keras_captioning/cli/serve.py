"""`keras-captioning serve`: a saved captioner behind HTTP."""

import os
import signal

from keras_captioning.cli import _common

NAME = "serve"
HELP = "Serve a .keras captioner over HTTP, with a page to try it."
DESCRIPTION = (
    HELP + " Routes: POST /v1/models/NAME:predict (TensorFlow Serving's "
    "form), GET /v1/models/NAME, POST /v1/caption (multipart upload), GET "
    "/healthz, /readyz, /metrics and / (the page). Needs pip install "
    '"keras-captioning[serve]". SIGTERM or Ctrl-C stops accepting, finishes '
    "the requests in flight and exits."
)

# The server's own options: flag, type, default, help.
SERVER_OPTIONS = (
    ("--host", str, "127.0.0.1", "Address to listen on."),
    ("--port", int, 8501, "Port to listen on."),
    (
        "--max-batch-size",
        _common.positive_int,
        8,
        "Most images captioned together.",
    ),
    (
        "--batch-timeout-ms",
        float,
        10.0,
        "How long a batch waits for more images, in milliseconds.",
    ),
    (
        "--max-queue",
        _common.positive_int,
        64,
        "Most images waiting for a batch; past it, 503.",
    ),
    ("--max-body-mb", float, 10.0, "Largest request body in MB; past it, 413."),
    (
        "--cors-origin",
        str,
        None,
        "Origin allowed to call the routes from a browser, '*' for any "
        "(default: none, no CORS headers).",
    ),
    (
        "--model-name",
        str,
        None,
        "NAME in /v1/models/NAME (default: the model file's name without "
        ".keras).",
    ),
    (
        "--shutdown-timeout",
        float,
        10.0,
        "Seconds to finish the requests in flight on SIGTERM/Ctrl-C.",
    ),
)


def configure(parser):
    for flag, kind, default, help_text in SERVER_OPTIONS:
        parser.add_argument(flag, type=kind, default=default, help=help_text)
    _common.generation_arguments(parser, batch_size=False)


def run(args):
    try:
        import uvicorn  # noqa: F401

        from keras_captioning.serving import app as serving_app

        serving_app.require_serve_packages()
    except ImportError as error:
        raise _common.UsageError(
            str(error)
            if "keras-captioning[serve]" in str(error)
            else f'{error}. Install: pip install "keras-captioning[serve]"'
        ) from error
    if args.batch_timeout_ms < 0 or args.max_body_mb <= 0:
        raise _common.UsageError(
            "--batch-timeout-ms must be >= 0 and --max-body-mb > 0. "
            f"Received: {args.batch_timeout_ms} and {args.max_body_mb}"
        )
    captioner = _common.load_captioner(args.model, args)
    name = args.model_name or os.path.basename(args.model)
    name = name.removesuffix(".keras")
    try:
        app = serving_app.build_app(
            captioner,
            model_name=name,
            max_batch_size=args.max_batch_size,
            batch_timeout_ms=args.batch_timeout_ms,
            max_queue=args.max_queue,
            max_body_mb=args.max_body_mb,
            cors_origin=args.cors_origin,
            **_common.generation_options(args),
        )
    except (TypeError, ValueError) as error:
        raise _common.UsageError(str(error)) from error
    print(
        f"keras-captioning serve: {name} on http://{args.host}:{args.port}/ "
        f"(POST /v1/models/{name}:predict, POST /v1/caption); /readyz "
        "answers 200 once generation is compiled. Ctrl-C or SIGTERM stops.",
        flush=True,
    )
    from keras_captioning.serving import serve

    try:
        stopped_by = serve(
            app,
            args.host,
            args.port,
            args.shutdown_timeout,
            message_prefix="keras-captioning serve: ",
        )
    except OSError as error:
        raise _common.UsageError(error) from error
    print("keras-captioning serve: stopped.", flush=True)
    return 130 if stopped_by == signal.SIGINT else 0
