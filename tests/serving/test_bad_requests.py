"""Bad requests: each gets its 4xx (or 503) JSON error, and the server
keeps serving."""

import io
import json
import struct
import zlib

import httpx
import pytest
from PIL import Image

from keras_captioning.serving import build_app
from tests.serving.conftest import b64
from tests.serving.conftest import png_bytes
from tests.serving.conftest import serving

pytestmark = pytest.mark.backend_independent

NAME = "tiny"
MAX_QUEUE = 4
PREDICT = f"/v1/models/{NAME}:predict"


def png_claiming(width, height):
    """A PNG whose header claims `width` x `height` pixels, with no pixels."""

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )


def bad_requests(good_png, path):
    """`(kind, status, words in the error, request keywords)` per kind."""
    big = b"x" * 60_000  # Over the server's 0.05 MB.

    def predict(instances):
        return {"url": PREDICT, "json": {"instances": instances}}

    def upload(content, **extra):
        return {
            "url": "/v1/caption",
            "files": {"image": ("a.png", content, "image/png")},
            **extra,
        }

    return [
        ("json over the limit", 413, "larger", predict([{"b64": b64(big)}])),
        ("upload over the limit", 413, "larger", upload(big)),
        ("not an image", 400, "not an image", upload(b"hello, world")),
        (
            "a file's path instead of its bytes (never opened)",
            400,
            "not an image",
            predict([{"b64": b64(path.encode())}]),
        ),
        ("truncated image", 400, "image", upload(good_png[:60])),
        ("empty file", 400, "empty", upload(b"")),
        (
            "too many pixels",
            400,
            "too many pixels",
            predict([{"b64": b64(png_claiming(100_000, 100_000))}]),
        ),
        (
            "bad base64",
            400,
            "base64",
            predict([{"b64": "not*base64!"}]),
        ),
        (
            "malformed json",
            400,
            "JSON",
            {
                "url": PREDICT,
                "content": b'{"instances": [',
                "headers": {"content-type": "application/json"},
            },
        ),
        (
            "missing instances",
            400,
            "instances",
            {"url": PREDICT, "json": {"inputs": []}},
        ),
        ("instance without b64", 400, "b64", predict([{"bytes": "AAAA"}])),
        (
            "upload without an image field",
            400,
            "'image'",
            {"url": "/v1/caption", "files": {"photo": ("a.png", good_png)}},
        ),
        (
            "num_captions not a number",
            400,
            "num_captions",
            upload(good_png, data={"num_captions": "many"}),
        ),
        (
            "num_captions past the beams",
            400,
            "--strategy beam",
            upload(good_png, data={"num_captions": "2"}),
        ),
        (
            "unsupported content type",
            415,
            "content type",
            {
                "url": PREDICT,
                "content": b"x",
                "headers": {"content-type": "text/plain"},
            },
        ),
        (
            "json sent to the upload route",
            415,
            "multipart/form-data",
            {"url": "/v1/caption", "json": {"instances": []}},
        ),
        (
            "more images than the queue holds",
            503,
            "busy",
            predict([{"b64": b64(good_png)}] * (MAX_QUEUE + 1)),
        ),
        (
            "unknown model",
            404,
            "No model",
            {"url": "/v1/models/other:predict", "json": {"instances": []}},
        ),
    ]


@pytest.fixture(scope="module")
def url(captioner):
    app = build_app(
        captioner,
        model_name=NAME,
        max_batch_size=1,
        max_queue=MAX_QUEUE,
        max_body_mb=0.05,
    )
    with serving(app) as url:
        yield url


def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def check(client, kind, status, words, request):
    request = dict(request)
    answer = client.post(request.pop("url"), **request)
    assert answer.status_code == status, (kind, answer.text)
    error = answer.json()["error"]
    assert isinstance(error, str) and words in error, (kind, error)
    if status == 503:
        assert answer.headers["retry-after"] == "1"


def test_every_kind_of_bad_request_gets_its_error(
    url, images, image_files, captioner
):
    good_png = png_bytes(images[0])
    kinds = bad_requests(good_png, image_files[0])
    assert len({kind for kind, *_ in kinds}) >= 10
    with httpx.Client(base_url=url, timeout=30) as client:
        client.get("/healthz")
        before = rss_mb()
        sent = 0
        while sent < 216:
            for kind, status, words, request in kinds:
                check(client, kind, status, words, request)
                sent += 1
        grown = rss_mb() - before
        answer = client.post(
            PREDICT, json={"instances": [{"b64": b64(good_png)}]}
        )
        assert answer.status_code == 200
        assert (
            answer.json()["predictions"][0]["captions"]
            == (captioner.caption(images[:1])[0])
        )
        metrics = client.get("/metrics").text
    assert grown < 200, f"RSS grew by {grown:.0f} MB over {sent} requests"
    assert 'code="400"' in metrics and 'code="413"' in metrics


def test_a_truncated_jpeg_and_a_json_list_body(url, images):
    buffer = io.BytesIO()
    Image.fromarray(images[0]).resize((64, 64)).save(buffer, format="JPEG")
    truncated = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    with httpx.Client(base_url=url, timeout=30) as client:
        answer = client.post(
            "/v1/caption", files={"image": ("a.jpg", truncated, "image/jpeg")}
        )
        assert answer.status_code == 400
        assert "image" in answer.json()["error"]
        answer = client.post(
            PREDICT,
            content=json.dumps([1, 2]).encode(),
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 400
        assert "instances" in answer.json()["error"]
