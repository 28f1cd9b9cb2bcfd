"""The served routes against `caption()`, and every route once.

A uvicorn server in a thread, on 127.0.0.1, serves the untrained seeded
captioner of conftest.py; each case of generation options gets its own.
"""

import concurrent.futures
import contextlib
import re
import sys

import numpy as np
import pytest

from keras_captioning.serving import build_app
from tests.serving.conftest import b64
from tests.serving.conftest import http
from tests.serving.conftest import png_bytes
from tests.serving.conftest import serving

pytestmark = pytest.mark.backend_independent

NAME = "tiny"
# Greedy, beam, and a decoding control that changes this model's captions.
CASES = {
    "greedy": {"strategy": "greedy"},
    "beam": {"strategy": "beam", "beam_width": 3},
    "no_repeat_ngram": {"strategy": "greedy", "no_repeat_ngram_size": 1},
}


@pytest.fixture(scope="module")
def server(captioner):
    """`server(case)` -> `(url, options)`: a server per case of CASES,
    started when a test first asks for it."""
    urls = {}
    with contextlib.ExitStack() as stack:

        def get(case):
            if case not in urls:
                app = build_app(
                    captioner,
                    model_name=NAME,
                    max_batch_size=2,
                    batch_timeout_ms=100,
                    **CASES[case],
                )
                urls[case] = stack.enter_context(serving(app))
            return urls[case], CASES[case]

        yield get


def metric(text, name):
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


@pytest.mark.parametrize("case", list(CASES))
def test_served_captions_equal_caption(server, case, captioner, image_files):
    url, options = server(case)
    expected = captioner.generate(image_files, return_scores=True, **options)
    captions = captioner.detokenize(expected["token_ids"])
    assert captioner.caption(image_files, **options) == captions
    assert len(set(captions)) >= 2
    files = [open(path, "rb").read() for path in image_files]

    # TensorFlow Serving's form, both ways of giving an instance.
    instances = [
        {"b64": b64(data)} if index % 2 else {"image": {"b64": b64(data)}}
        for index, data in enumerate(files)
    ]
    answer = http.post(
        f"{url}/v1/models/{NAME}:predict", json={"instances": instances}
    )
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert [p["captions"] for p in predictions] == captions
    np.testing.assert_allclose(
        [p["scores"] for p in predictions], expected["scores"], atol=1e-4
    )

    # Hugging Face's form, one upload per request, sent together: batched.
    before = http.get(f"{url}/metrics").text

    def upload(data):
        return http.post(
            f"{url}/v1/caption",
            files={"image": ("image.png", data, "image/png")},
            timeout=30,
        )

    with concurrent.futures.ThreadPoolExecutor(len(files)) as pool:
        answers = list(pool.map(upload, files))
    assert [a.status_code for a in answers] == [200] * len(files)
    assert [a.json()[0]["generated_text"] for a in answers] == captions
    after = http.get(f"{url}/metrics").text
    name = "keras_captioning_batch_size"
    images = metric(after, f"{name}_sum") - metric(before, f"{name}_sum")
    batches = metric(after, f"{name}_count") - metric(before, f"{name}_count")
    assert images == len(files)
    assert batches < len(files)


def test_caption_route_returns_attention_and_several_beams(
    server, captioner, image_files
):
    url, options = server("beam")
    data = open(image_files[1], "rb").read()
    answer = http.post(
        f"{url}/v1/caption", files={"image": ("a.png", data, "image/png")}
    ).json()
    words = answer[0]["generated_text"].split()
    attention = answer[0]["attention"]
    assert attention["words"] == words
    assert attention["grid"] == [4, 4]
    weights = np.array(attention["weights"])
    assert weights.shape == (len(words), 16)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-3)
    answer = http.post(
        f"{url}/v1/caption",
        files={"image": ("a.png", data, "image/png")},
        data={"num_captions": "2"},
    ).json()
    beams = captioner.caption(
        [image_files[1]], return_all_beams=True, **options
    )[0]
    assert [entry["generated_text"] for entry in answer] == beams[:2]


def test_every_other_route(server):
    url, _ = server("greedy")
    assert http.get(f"{url}/healthz").json() == {"status": "alive"}
    assert http.get(f"{url}/readyz").status_code == 200
    status = http.get(f"{url}/v1/models/{NAME}").json()
    assert status["model_version_status"][0]["state"] == "AVAILABLE"
    missing = http.get(f"{url}/v1/models/other")
    assert missing.status_code == 404 and "other" in missing.json()["error"]
    metrics = http.get(f"{url}/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    for name in (
        "keras_captioning_requests_total",
        "keras_captioning_batch_size_bucket",
        "keras_captioning_request_latency_seconds_bucket",
        "keras_captioning_queue_waiting",
    ):
        assert name in metrics.text
    page = http.get(f"{url}/")
    assert page.headers["content-type"].startswith("text/html")
    assert "v1/caption" in page.text and "<script" in page.text
    # The page is self-contained: nothing fetched from elsewhere.
    assert "http://" not in page.text and "https://" not in page.text


def test_a_served_image_equals_its_png(server, captioner, images):
    url, options = server("greedy")
    data = png_bytes(images[2])
    answer = http.post(
        f"{url}/v1/models/{NAME}:predict",
        json={"instances": [{"b64": b64(data)}]},
    ).json()
    assert (
        answer["predictions"][0]["captions"]
        == captioner.caption(images[2:3], **options)[0]
    )


def test_without_the_extra_the_error_names_it(
    captioner, model_file, monkeypatch, capsys
):
    from keras_captioning.cli import main

    monkeypatch.setitem(sys.modules, "starlette", None)
    with pytest.raises(ImportError, match=r"keras-captioning\[serve\]"):
        build_app(captioner)
    assert main(["serve", model_file]) == 2
    assert 'pip install "keras-captioning[serve]"' in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"model_name": "a/b"}, "`model_name` must be"),
        ({"max_body_mb": -1}, "`max_body_mb` must be"),
        ({"cors_origin": 3}, "`cors_origin` must be"),
        ({"max_batch_size": 0}, "`max_batch_size` must be"),
    ],
)
def test_bad_arguments_are_refused(captioner, arguments, message):
    with pytest.raises((TypeError, ValueError), match=message):
        build_app(captioner, **arguments)


def test_cors_origin_is_sent_when_asked(captioner):
    app = build_app(captioner, max_batch_size=1, cors_origin="http://x.test")
    with serving(app) as url:
        answer = http.get(f"{url}/healthz", headers={"origin": "http://x.test"})
    assert answer.headers["access-control-allow-origin"] == "http://x.test"
