import signal
import sys


def serve(
    app,
    host="127.0.0.1",
    port=8501,
    shutdown_timeout=10.0,
    message_prefix="keras_captioning.serving: ",
):
    """Serves an application of `build_app` with uvicorn until SIGTERM or
    Ctrl-C, then finishes the requests in flight.

    On the first SIGTERM or Ctrl-C the server stops accepting connections
    and says so on stderr (`<message_prefix>SIGTERM: no new connections;
    finishing the requests in flight (at most 10 s).`); the requests in
    flight get `shutdown_timeout` seconds. The signal is not raised again
    afterwards: the caller decides how the process ends. Python's logging
    is used as the process has it (uvicorn logs warnings and errors only).
    This is what `keras-captioning serve` runs.

    Args:
        app: the ASGI application, e.g. `build_app(captioner)`.
        host: str. Address to listen on. Defaults to `"127.0.0.1"`.
        port: int. Port to listen on. Defaults to `8501`.
        shutdown_timeout: float. Seconds to finish the requests in flight
            once stopped. Defaults to `10.0`.
        message_prefix: str. Put before the line printed on a stop.
            Defaults to `"keras_captioning.serving: "`.

    Returns:
        The signal that stopped the server (`signal.SIGINT` or
        `signal.SIGTERM`), or `None`.

    Raises:
        OSError: if the server cannot listen on `host:port`.
        ImportError: without `pip install "keras-captioning[serve]"`.

    Example:

    >>> app = keras_captioning.serving.build_app(captioner)  # doctest: +SKIP
    >>> keras_captioning.serving.serve(app, port=8080)  # doctest: +SKIP
    """
    try:
        import uvicorn
    except ImportError as error:
        raise ImportError(
            f'{error}. Install: pip install "keras-captioning[serve]"'
        ) from error

    class Server(uvicorn.Server):
        stopped_by = None

        def handle_exit(self, sig, frame):
            if self.stopped_by is None:
                self.stopped_by = sig
                print(
                    f"{message_prefix}{signal.Signals(sig).name}: no new "
                    "connections; finishing the requests in flight (at "
                    f"most {shutdown_timeout:g} s).",
                    file=sys.stderr,
                    flush=True,
                )
            super().handle_exit(sig, frame)
            # uvicorn re-raises the signal once it has stopped, so the
            # process would die of it; the caller decides instead.
            getattr(self, "_captured_signals", []).clear()

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=shutdown_timeout,
    )
    server = Server(config)
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot listen.
        server.started = False
    if not server.started:
        raise OSError(f"cannot serve on {host}:{port} (is the port in use?)")
    return server.stopped_by
