"""The HTTP application: routes, errors and metrics around a captioner."""

import asyncio
import base64
import binascii
import contextlib
import importlib.resources
import json
import logging
import time

from keras_captioning import _validation
from keras_captioning.serving import _captioning
from keras_captioning.serving.batcher import DynamicBatcher
from keras_captioning.serving.batcher import QueueFullError

_LOGGER = logging.getLogger("keras_captioning.serving")
_INSTALL = 'pip install "keras-captioning[serve]"'
_LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
)  # fmt: skip


def require_serve_packages():
    """Imports Starlette and prometheus_client, or raises `ImportError`
    naming the extra that brings them."""
    try:
        import prometheus_client  # noqa: F401
        import python_multipart  # noqa: F401
        import starlette  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"Serving needs Starlette, uvicorn, python-multipart and "
            f"prometheus_client ({error.name} is missing). Install them "
            f"with: {_INSTALL}"
        ) from error


class RequestError(Exception):
    """A request the server refuses: an HTTP status and one sentence."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def build_app(
    captioner,
    model_name="captioner",
    max_batch_size=8,
    batch_timeout_ms=10,
    max_queue=64,
    max_body_mb=10,
    cors_origin=None,
    **generation_options,
):
    """Builds the Starlette (ASGI) application that serves a captioner.

    Routes: `POST /v1/models/{model_name}:predict` (TensorFlow Serving's
    REST form), `GET /v1/models/{model_name}` (its status form), `POST
    /v1/caption` (a multipart upload, answered in Hugging Face's
    image-to-text form), `GET /healthz`, `GET /readyz`, `GET /metrics`
    (Prometheus) and `GET /` (a page to try the model). See
    docs/serving.rst.

    Uploaded bytes are read by `keras_captioning.data.read_image` and
    captioned by `captioner.generate` with `generation_options`, so a
    served caption is the one `captioner.caption` gives for the same file.
    Requests arriving within `batch_timeout_ms` of each other are captioned
    together (`DynamicBatcher`), in one worker thread; at start-up the
    generation is compiled for every padded batch size in that thread, and
    `/readyz` answers 200 once it is.

    Needs `pip install "keras-captioning[serve]"`.

    Args:
        captioner: a `keras_captioning.models.ImageCaptioner` that reads
            images.
        model_name: str. NAME in `/v1/models/NAME`. Defaults to
            `"captioner"`.
        max_batch_size: int. Most images per batch. Defaults to `8`.
        batch_timeout_ms: float. How long a batch waits for more images.
            Defaults to `10`.
        max_queue: int. Most images waiting for a batch; past it, 503.
            Defaults to `64`.
        max_body_mb: float. Largest request body, in MB (10**6 bytes);
            past it, 413. Defaults to `10`.
        cors_origin: str or `None`. Origin allowed to call the routes from
            a browser (`"*"` for any); `None` sends no CORS headers.
            Defaults to `None`.
        **generation_options: options of `captioner.generate`
            (`strategy`, `beam_width`, `max_length`, decoding controls).

    Returns:
        A `starlette.applications.Starlette`.
    """
    require_serve_packages()
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.routing import Route

    if not isinstance(model_name, str) or not model_name or "/" in model_name:
        raise ValueError(
            "`model_name` must be a non-empty string without '/'. "
            f"Received: model_name={model_name!r}"
        )
    max_body_mb = _validation.check_float("max_body_mb", max_body_mb, 0)
    if cors_origin is not None and not isinstance(cors_origin, str):
        raise TypeError(
            "`cors_origin` must be a string or None. "
            f"Received: cors_origin={cors_origin!r}"
        )
    captioning = _captioning.BatchCaptioner(
        captioner, max_batch_size, generation_options
    )
    metrics = _Metrics()
    batcher = DynamicBatcher(
        captioning.run_batch,
        max_batch_size,
        batch_timeout_ms,
        max_queue,
        on_batch=metrics.batch_size.observe,
    )
    metrics.watch_queue(batcher)
    state = _State(model_name, int(max_body_mb * 1_000_000), batcher)
    handlers = _Handlers(state, captioning, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        batcher.start()
        warming = asyncio.get_running_loop().create_task(handlers.warm_up())
        yield
        warming.cancel()
        await batcher.stop()

    routes = [
        Route("/", handlers.page, methods=["GET"]),
        Route("/healthz", handlers.healthz, methods=["GET"]),
        Route("/readyz", handlers.readyz, methods=["GET"]),
        Route("/metrics", handlers.prometheus_text, methods=["GET"]),
        Route("/v1/caption", handlers.caption, methods=["POST"]),
        Route("/v1/models/{name}", handlers.model_status, methods=["GET"]),
        Route("/v1/models/{name}:predict", handlers.predict, methods=["POST"]),
    ]
    middleware = []
    if cors_origin is not None:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=[cors_origin],
                allow_methods=["GET", "POST"],
                allow_headers=["*"],
            )
        )

    async def http_error(request, error):
        return _error_response(error.status_code, error.detail)

    async def request_error(request, error):
        return _error_response(error.status, error.message, error.headers)

    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={
            HTTPException: http_error,
            RequestError: request_error,
        },
    )
    app.state.batcher = batcher
    app.state.captioning = captioning
    return app


class _State:
    def __init__(self, model_name, max_body_bytes, batcher):
        self.model_name = model_name
        self.max_body_bytes = max_body_bytes
        self.batcher = batcher
        self.ready = False
        self.error = None


class _Metrics:
    """Prometheus metrics of one application, in a registry of its own."""

    def __init__(self):
        import prometheus_client as prometheus

        self.registry = prometheus.CollectorRegistry()
        self.requests = prometheus.Counter(
            "keras_captioning_requests",
            "Requests answered, by route.",
            ["route"],
            registry=self.registry,
        )
        self.errors = prometheus.Counter(
            "keras_captioning_errors",
            "Requests answered with an error, by route and status code.",
            ["route", "code"],
            registry=self.registry,
        )
        self.batch_size = prometheus.Histogram(
            "keras_captioning_batch_size",
            "Images per generation batch (before padding).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=self.registry,
        )
        self.latency = prometheus.Histogram(
            "keras_captioning_request_latency_seconds",
            "Time from a request's arrival to its answer, by route.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.waiting = prometheus.Gauge(
            "keras_captioning_queue_waiting",
            "Images waiting for a batch.",
            registry=self.registry,
        )

    def watch_queue(self, batcher):
        self.waiting.set_function(lambda: batcher.waiting)


def _error_response(status, message, headers=None):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message}, status, headers=headers)


class _Handlers:
    def __init__(self, state, captioning, metrics):
        self.state = state
        self.captioning = captioning
        self.metrics = metrics

    async def warm_up(self):
        try:
            sizes = await self.state.batcher.call_in_worker(
                self.captioning.warm_up
            )
        except Exception as error:  # Reported by /readyz and the log.
            self.state.error = f"{type(error).__name__}: {error}"
            _LOGGER.error("warm-up failed: %s", self.state.error)
            return
        self.state.ready = True
        _LOGGER.info("ready: generation compiled for batch sizes %s", sizes)

    # ------------------------------------------------------------ plain

    async def page(self, request):
        from starlette.responses import HTMLResponse

        page = importlib.resources.files("keras_captioning.serving")
        return HTMLResponse(
            page.joinpath("page", "index.html").read_text("utf-8")
        )

    async def healthz(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse({"status": "alive"})

    async def readyz(self, request):
        from starlette.responses import JSONResponse

        if self.state.ready:
            return JSONResponse({"status": "ready"})
        if self.state.error:
            return _error_response(503, self.state.error)
        return _error_response(503, "The model is still being compiled.")

    async def prometheus_text(self, request):
        import prometheus_client as prometheus
        from starlette.responses import Response

        return Response(
            prometheus.generate_latest(self.metrics.registry),
            media_type=prometheus.CONTENT_TYPE_LATEST,
        )

    async def model_status(self, request):
        from starlette.responses import JSONResponse

        self._check_name(request)
        if self.state.ready:
            state, code, message = "AVAILABLE", "OK", ""
        elif self.state.error:
            state, code, message = "END", "UNKNOWN", self.state.error
        else:
            state, code, message = "LOADING", "OK", ""
        return JSONResponse(
            {
                "model_version_status": [
                    {
                        "version": "1",
                        "state": state,
                        "status": {
                            "error_code": code,
                            "error_message": message,
                        },
                    }
                ]
            }
        )

    # -------------------------------------------------------- captions

    async def predict(self, request):
        return await self._answer("predict", request, self._predict)

    async def caption(self, request):
        return await self._answer("caption", request, self._caption)

    async def _answer(self, route, request, handler):
        from starlette.responses import JSONResponse

        start = time.perf_counter()
        try:
            response = JSONResponse(await handler(request))
        except RequestError as error:
            response = _error_response(
                error.status, error.message, error.headers
            )
        except Exception as error:  # A bug of ours: 500, still JSON.
            _LOGGER.exception("error while answering %s", route)
            response = _error_response(
                500, f"Internal error: {type(error).__name__}: {error}"
            )
        self.metrics.requests.labels(route).inc()
        if response.status_code >= 400:
            self.metrics.errors.labels(route, str(response.status_code)).inc()
        self.metrics.latency.labels(route).observe(time.perf_counter() - start)
        return response

    async def _predict(self, request):
        self._check_name(request)
        self._check_content_type(request, "application/json")
        body = await self._read_body(request)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise RequestError(
                400, f"The body is not valid JSON ({error})."
            ) from None
        instances = _instances(payload)
        encoded = [_instance_bytes(i, item) for i, item in enumerate(instances)]
        labels = [f"instances[{index}]" for index in range(len(encoded))]
        results = await self._caption_all(encoded, labels, 1)
        return {
            "predictions": [
                {"captions": result[0]["caption"], "scores": result[0]["score"]}
                for result in results
            ]
        }

    async def _caption(self, request):
        from starlette.datastructures import UploadFile
        from starlette.requests import Request

        self._check_content_type(request, "multipart/form-data")
        body = await self._read_body(request)

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            form = await Request(request.scope, replay).form(
                max_files=1, max_fields=4
            )
        except Exception as error:  # Starlette's parse errors vary.
            raise RequestError(
                400, f"The multipart body cannot be parsed ({error})."
            ) from None
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            raise RequestError(400, "The form has no file field named 'image'.")
        num_captions = form.get("num_captions", "1")
        try:
            num_captions = self.captioning.check_num_captions(num_captions)
        except ValueError as error:
            raise RequestError(400, str(error)) from None
        data = await upload.read()
        results = await self._caption_all([data], ["image"], num_captions)
        # Hugging Face's image-to-text form, with the score (and attention).
        return [
            {"generated_text": result.pop("caption"), **result}
            for result in results[0]
        ]

    async def _caption_all(self, encoded, labels, num_captions):
        """Decodes every image first (any bad one fails the request, its
        error naming the image's label), then queues them; returns one
        result per image."""
        from starlette.concurrency import run_in_threadpool

        images = []
        for data, label in zip(encoded, labels):
            try:
                images.append(
                    await run_in_threadpool(self.captioning.decode, data, label)
                )
            except ValueError as error:  # ImageFileError included.
                raise RequestError(400, str(error)) from None
        batcher = self.state.batcher
        if batcher.waiting + len(images) > batcher.max_queue:
            raise _queue_full(batcher)
        try:
            return await asyncio.gather(
                *(
                    batcher.submit(
                        image, self.captioning.key(num_captions, image)
                    )
                    for image in images
                )
            )
        except QueueFullError:
            raise _queue_full(batcher) from None

    # ---------------------------------------------------------- checks

    def _check_name(self, request):
        name = request.path_params["name"]
        if name != self.state.model_name:
            raise RequestError(
                404,
                f"No model named {name!r}; this server serves "
                f"{self.state.model_name!r}.",
            )

    def _check_content_type(self, request, expected):
        received = request.headers.get("content-type", "")
        if received.split(";")[0].strip().lower() != expected:
            raise RequestError(
                415,
                f"The content type must be {expected}. Received: "
                f"{received or 'none'}.",
            )

    async def _read_body(self, request):
        limit = self.state.max_body_bytes
        too_large = RequestError(
            413, f"The body is larger than the limit of {limit} bytes."
        )
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise too_large
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)


def _queue_full(batcher):
    return RequestError(
        503,
        f"The server is busy: {batcher.waiting} images wait already "
        f"(max_queue={batcher.max_queue}); retry shortly.",
        headers={"Retry-After": "1"},
    )


def _instances(payload):
    if not isinstance(payload, dict) or "instances" not in payload:
        raise RequestError(
            400, 'The JSON body must be an object with an "instances" list.'
        )
    instances = payload["instances"]
    if not isinstance(instances, list) or not instances:
        raise RequestError(
            400, '"instances" must be a non-empty list of {"b64": ...}.'
        )
    return instances


def _instance_bytes(index, instance):
    """The image bytes of one TensorFlow Serving instance: `{"b64": ...}`,
    or the same under `"image"` or `"encoded_images"`."""
    if isinstance(instance, dict):
        for key in ("image", "encoded_images"):
            if isinstance(instance.get(key), dict):
                instance = instance[key]
                break
    if not isinstance(instance, dict) or not isinstance(
        instance.get("b64"), str
    ):
        raise RequestError(
            400,
            f'instances[{index}] must be {{"b64": "<base64 image>"}} or '
            f'{{"image": {{"b64": "<base64 image>"}}}}.',
        )
    try:
        return base64.b64decode(instance["b64"], validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(
            400, f'instances[{index}]["b64"] is not valid base64.'
        ) from None
