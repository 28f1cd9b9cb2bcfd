"""Throughput and latency of `keras-captioning serve`, batching on and off.

Saves one untrained captioner (SimpleCNN on 64x64 images, 256-unit LSTM,
captions of up to 16 words: generation costs what a small trained model's
does, whatever it says), writes JPEG files, and in one run measures:

- the server (`keras-captioning serve`, a process of its own on
  127.0.0.1) with dynamic batching on (`--max-batch-size 8
  --batch-timeout-ms 10`) and off (`--max-batch-size 1`), under 1, 8 and
  32 concurrent clients, each sending one JPEG per `POST
  /v1/models/NAME:predict` and waiting for its answer;
- in-process `captioner.caption(paths, batch_size=8)` on the same files in
  batches of 8: the ceiling, with no HTTP, JSON or base64.

Both servers run throughout, idle while the others are measured; every
case is measured for a slot in each of `--rounds` rounds, in turn, so a
load spike from other work on a shared machine hits all of them. Prints
images/s and p50/p99 latency per case, and the ratios the serving
guide's targets are about (32 clients: batching on / off >= 3, batching on
/ in-process >= 0.6). The clients run in this process, on the same CPUs as
the server, as they would on one machine. Run from the repository root:

    python benchmarks/bench_serve.py --seconds 8 --rounds 4

Needs `pip install "keras-captioning[serve]"` (and httpx, to wait for the
servers to be ready).
"""

import argparse
import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _timing  # noqa: E402
import httpx  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

import keras_captioning  # noqa: E402

HOST = "127.0.0.1"
NAME = "bench"
CLIENTS = (1, 8, 32)
WORDS = (
    "a an the red green blue yellow purple small large circle square "
    "triangle shape shapes on in of with and left right top bottom near "
    "two three one next to above below beside it is there are"
).split()


def save_model(path):
    keras.utils.set_random_seed(0)
    captioner = keras_captioning.models.ImageCaptioner(
        sorted(set(WORDS)),
        encoder=keras_captioning.models.SimpleCNN(filters=(16, 32)),
        image_size=(64, 64),
        feature_to_sequence={"units": 64},
        decoder={"units": 256, "embedding_dim": 64},
        max_length=16,
    )
    captioner.build({"images": (None, 64, 64, 3), "token_ids": (None, None)})
    captioner.save(path)


def write_jpegs(folder, count):
    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        colour = rng.integers(0, 256, 3)
        pixels = np.clip(
            colour + rng.normal(0, 30, (120, 160, 3)), 0, 255
        ).astype("uint8")
        path = os.path.join(folder, f"image_{index:03d}.jpg")
        Image.fromarray(pixels).save(path, quality=90)
        paths.append(path)
    return paths


def b64_file(path):
    with open(path, "rb") as file:
        return base64.b64encode(file.read()).decode("ascii")


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_server(model, flags):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_captioning.cli", "serve", model]
        + ["--port", str(port), "--model-name", NAME, "--max-queue", "256"]
        + flags,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise TimeoutError("the server was not ready in 300 s")


def stop_server(process):
    process.send_signal(signal.SIGTERM)
    process.wait(30)


class Connection:
    """One keep-alive HTTP/1.1 connection with a minimal client.

    httpx's pool costs the client more CPU per request than the server's
    own work at 32 clients, on the same two CPUs; the benchmark measures
    the server, so its clients write a request and read the answer with
    asyncio streams and nothing more.
    """

    def __init__(self, reader, writer, host, port):
        self.reader, self.writer = reader, writer
        self.head = (
            f"POST /v1/models/{NAME}:predict HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nContent-Type: application/json\r\n"
        ).encode()

    @classmethod
    async def open(cls, host, port):
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, host, port)

    async def predict(self, body):
        self.writer.write(
            self.head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        answer = await self.reader.readexactly(length)
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {answer[:200]!r}")
        return answer

    def close(self):
        self.writer.close()


async def load(url, bodies, clients, seconds):
    """`(images, seconds taken, latencies)` of `clients` clients in a loop,
    each on its own keep-alive connection."""
    host, port = url.removeprefix("http://").split(":")
    connections = [
        await Connection.open(host, int(port)) for _ in range(clients)
    ]
    latencies = []
    try:
        # Warm the connections and the server's first batches.
        await asyncio.gather(
            *(
                c.predict(bodies[i % len(bodies)])
                for i, c in enumerate(connections)
            )
        )
        stop_at = time.perf_counter() + seconds

        async def worker(offset, connection):
            index = offset
            while time.perf_counter() < stop_at:
                start = time.perf_counter()
                await connection.predict(bodies[index % len(bodies)])
                latencies.append(time.perf_counter() - start)
                index += clients

        began = time.perf_counter()
        await asyncio.gather(*(worker(i, c) for i, c in enumerate(connections)))
        took = time.perf_counter() - began
    finally:
        for connection in connections:
            connection.close()
    return len(latencies), took, latencies


class InProcess:
    """`caption(paths, batch_size=8)` in this process, compiled first."""

    def __init__(self, model, paths):
        self.captioner = keras.saving.load_model(model)
        self.paths = paths
        self.captioner.caption(paths[:8], batch_size=8)
        self.start = 0

    def measure(self, seconds):
        """`(images, seconds taken, batch latencies)` of a loop."""
        count, latencies = 0, []
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            batch = self.paths[self.start : self.start + 8]
            self.start = (self.start + 8) % len(self.paths)
            batch_began = time.perf_counter()
            self.captioner.caption(batch, batch_size=8)
            latencies.append(time.perf_counter() - batch_began)
            count += len(batch)
        return count, time.perf_counter() - began, latencies


def percentile(values, q):
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


SERVERS = {
    "server, batching on": ["--max-batch-size", "8"],
    "server, batching off": [
        "--max-batch-size",
        "1",
        "--batch-timeout-ms",
        "0",
    ],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=4.0, help="Per case, all rounds."
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="Every case is measured once per round, in turn, so a load "
        "spike from other work hits all of them.",
    )
    parser.add_argument("--images", type=int, default=64)
    args = parser.parse_args()
    print(_timing.describe_machine())
    slot = args.seconds / args.rounds
    totals = {}  # case -> [images, seconds, latencies]
    with tempfile.TemporaryDirectory() as folder:
        model = os.path.join(folder, "bench.keras")
        save_model(model)
        paths = write_jpegs(folder, args.images)
        bodies = [
            json.dumps({"instances": [{"b64": b64_file(path)}]}).encode()
            for path in paths
        ]
        ceiling = InProcess(model, paths)
        servers = {}
        try:
            for label, flags in SERVERS.items():
                servers[label] = start_server(model, flags)
            for _ in range(args.rounds):
                cases = [("in-process", None)] + [
                    (label, clients) for label in SERVERS for clients in CLIENTS
                ]
                for label, clients in cases:
                    if clients is None:
                        result = ceiling.measure(slot)
                    else:
                        url = servers[label][1]
                        result = asyncio.run(load(url, bodies, clients, slot))
                    total = totals.setdefault((label, clients), [0, 0.0, []])
                    total[0] += result[0]
                    total[1] += result[1]
                    total[2] += result[2]
        finally:
            for process, _ in servers.values():
                stop_server(process)
    rates, rows = {}, []
    for (label, clients), (images, seconds, latencies) in totals.items():
        rates[label, clients] = images / seconds
        unit = " (batch)" if clients is None else ""
        rows.append(
            [
                "caption() in-process, batches of 8"
                if clients is None
                else label,
                "-" if clients is None else str(clients),
                f"{images / seconds:.1f}",
                f"{percentile(latencies, 50):.1f}{unit}",
                f"{percentile(latencies, 99):.1f}{unit}",
            ]
        )
    print()
    _timing.print_table(
        ["case", "clients", "images/s", "p50 ms", "p99 ms"], rows
    )
    on = rates["server, batching on", 32]
    off = rates["server, batching off", 32]
    ceiling = rates["in-process", None]
    print()
    print(
        f"32 clients: batching on / off = {on / off:.2f}x (target >= 3: "
        f"{_timing.verdict(on / off, 3.0, at_most=False)}); batching on / "
        f"in-process caption() = {on / ceiling:.2f}x (target >= 0.6: "
        f"{_timing.verdict(on / ceiling, 0.6, at_most=False)})"
    )
    print(f"load average at the end: {_timing.load_average():.1f}")


if __name__ == "__main__":
    main()
