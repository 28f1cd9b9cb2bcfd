"""`keras-captioning serve` as a process: its routes, and SIGTERM with
requests in flight (the process itself is the subject)."""

import concurrent.futures
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from keras_captioning.cli import main
from tests.cli._signals import default_sigint
from tests.serving.conftest import HOST
from tests.serving.conftest import b64
from tests.serving.conftest import free_port
from tests.serving.conftest import http
from tests.serving.conftest import png_bytes
from tests.serving.conftest import wait_ready

pytestmark = pytest.mark.backend_independent

IN_FLIGHT = 16


def test_usage_errors_exit_2(tmp_path, model_file, capsys):
    assert main(["serve", str(tmp_path / "missing.keras")]) == 2
    assert "no such model file" in capsys.readouterr().err
    # The generation options are checked as `caption` checks them.
    assert main(["serve", model_file, "--bad-words", "zebra"]) == 2
    assert "zebra" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: keras-captioning serve")
    for flag in ("--max-batch-size", "--cors-origin", "--strategy"):
        assert flag in help_text
    assert "--batch-size " not in help_text


def test_serve_in_process_until_sigterm(model_file, images, capsys):
    """The command through its entry point: it serves the model file under
    its name, and SIGTERM (sent once it serves) ends it with exit code 0."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    answers = {}

    def client():
        wait_ready(url, timeout=60)
        answers["status"] = http.get(f"{url}/v1/models/tiny").json()
        answers["predict"] = http.post(
            f"{url}/v1/models/tiny:predict",
            json={"instances": [{"b64": b64(png_bytes(images[0]))}]},
        )
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    code = main(
        ["serve", model_file, "--port", str(port), "--max-batch-size", "2"]
    )
    thread.join(10)
    assert code == 0
    state = answers["status"]["model_version_status"][0]["state"]
    assert state == "AVAILABLE"
    assert answers["predict"].status_code == 200
    output = capsys.readouterr()
    assert f"http://{HOST}:{port}/" in output.out and "stopped" in output.out
    assert "SIGTERM" in output.err and "at most 10 s" in output.err


@pytest.mark.large
@pytest.mark.parametrize(
    "stop, code", [(signal.SIGTERM, 0), (signal.SIGINT, 130)]
)
def test_a_signal_answers_the_requests_in_flight_then_exits(
    model_file, images, stop, code
):
    port = free_port()
    url = f"http://{HOST}:{port}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "keras_captioning.cli",
            "serve",
            model_file,
            "--port",
            str(port),
            # Room and time for all 16 to wait in one batch at SIGTERM.
            "--max-batch-size",
            str(2 * IN_FLIGHT),
            "--batch-timeout-ms",
            "3000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        preexec_fn=default_sigint,
    )
    try:
        wait_ready(url, timeout=120, process=process)
        # The model file's name without .keras names the model.
        status = http.get(f"{url}/v1/models/tiny").json()
        assert status["model_version_status"][0]["state"] == "AVAILABLE"
        body = {"instances": [{"b64": b64(png_bytes(images[0]))}]}

        def predict(_):
            return http.post(
                f"{url}/v1/models/tiny:predict", json=body, timeout=30
            )

        with concurrent.futures.ThreadPoolExecutor(IN_FLIGHT) as pool:
            answers = pool.map(predict, range(IN_FLIGHT))
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                metrics = http.get(f"{url}/metrics").text
                waiting = re.search(
                    r"^keras_captioning_queue_waiting (\S+)$",
                    metrics,
                    re.MULTILINE,
                )
                if float(waiting.group(1)) == IN_FLIGHT:
                    break
                time.sleep(0.02)
            else:
                pytest.fail("the requests did not all reach the queue")
            process.send_signal(stop)
            signalled = time.monotonic()
            answers = list(answers)
        process.wait(timeout=10)
        took = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
        stdout, stderr = process.communicate()
    assert [answer.status_code for answer in answers] == [200] * IN_FLIGHT
    captions = {a.json()["predictions"][0]["captions"] for a in answers}
    assert len(captions) == 1
    assert took < 10
    assert process.returncode == code, stderr
    assert f"{stop.name}: no new connections" in stderr
    assert "at most 10 s" in stderr
    assert f"http://{HOST}:{port}/" in stdout and "stopped" in stdout
