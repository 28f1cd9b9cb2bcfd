"""Serving a captioner over HTTP: `keras-captioning serve`.

`build_app` turns a loaded `ImageCaptioner` into an ASGI application
(Starlette) with TensorFlow Serving's and Hugging Face's request forms, a
Prometheus `/metrics` route and a page to try the model; `DynamicBatcher`
captions requests that arrive together in one batch; `serve` runs an
application with uvicorn until SIGTERM or Ctrl-C. Needs the `serve`
extra: `pip install "keras-captioning[serve]"` (Starlette, uvicorn,
python-multipart, prometheus_client), imported only when an application is
built, so `import keras_captioning` does not need them.
"""

from keras_captioning.serving.app import build_app
from keras_captioning.serving.batcher import DynamicBatcher
from keras_captioning.serving.batcher import QueueFullError
from keras_captioning.serving.batcher import padded_batch_sizes
from keras_captioning.serving.serve import serve

__all__ = [
    "DynamicBatcher",
    "QueueFullError",
    "build_app",
    "padded_batch_sizes",
    "serve",
]
