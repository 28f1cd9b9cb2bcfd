"""Untrained, seeded tiny captioners, and servers for them on 127.0.0.1.

The plumbing under test (HTTP, batching, errors, shutdown) needs a model
whose captions differ per image, not a trained one: `small_captioner`
(tests/models/conftest.py) with attention, seeded, captions the colour
images differently.
"""

import base64
import contextlib
import io
import socket
import threading
import time

import httpx
import keras
import numpy as np
import pytest
from PIL import Image

from tests.cli._tiny_captioner import save_tiny_captioner
from tests.models.conftest import VOCABULARY
from tests.models.conftest import colour_images
from tests.models.conftest import small_captioner

# A server's first caption compiles its model, which on a loaded machine
# takes longer than httpx's default 5 s timeout.
http = httpx.Client(timeout=60)

pytest.importorskip("starlette", reason="needs keras-captioning[serve]")
pytest.importorskip("uvicorn", reason="needs keras-captioning[serve]")
pytest.importorskip("prometheus_client", reason="needs keras-captioning[serve]")

HOST = "127.0.0.1"


def png_bytes(image):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def b64(data):
    return base64.b64encode(data).decode("ascii")


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_ready(url, timeout=60, process=None):
    """Polls `url/readyz` until it answers 200; raises after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} was not ready within {timeout} s")


@contextlib.contextmanager
def serving(app, timeout=60):
    """Runs `app` under uvicorn in a thread on a free port; yields its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host=HOST, port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://{HOST}:{port}"
    try:
        wait_ready(url, timeout)
        yield url
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="session")
def images():
    """Eight 16x16 colour images (two noise draws of four colours)."""
    return np.concatenate([colour_images(seed=0), colour_images(seed=1)])


@pytest.fixture(scope="session")
def image_files(images, tmp_path_factory):
    """The images as PNG files; returns their paths."""
    folder = tmp_path_factory.mktemp("serving_images")
    paths = []
    for index, image in enumerate(images):
        path = folder / f"image_{index}.png"
        path.write_bytes(png_bytes(image))
        paths.append(str(path))
    return paths


@pytest.fixture(scope="session")
def captioner():
    """An untrained, seeded captioner with attention over a 4x4 grid.

    Generation without XLA: each batch size traces in under a second
    (XLA takes seconds per size on a shared CPU), and the plumbing under
    test is the same.
    """
    keras.utils.set_random_seed(3)
    model = small_captioner(conditioning="attention")
    model.build({"images": (None, 16, 16, 3), "token_ids": (None, None)})
    model.compile(jit_compile=False)
    return model


@pytest.fixture(scope="session")
def model_file(tmp_path_factory):
    """A saved untrained tiny captioner (no attention), for processes;
    compiled without XLA, as `captioner` is."""
    keras.utils.set_random_seed(5)
    path = str(tmp_path_factory.mktemp("serving_model") / "tiny.keras")
    save_tiny_captioner(path, VOCABULARY)
    model = keras.saving.load_model(path)
    model.compile(jit_compile=False)
    model.optimizer.build(model.trainable_variables)
    model.save(path)
    return path
