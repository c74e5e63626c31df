"""Serving: the local TF-Serving-compatible server against a threaded Flask app that loads the
same SavedModel and predicts per request, under 32 concurrent REST clients sending one example
per request (wrk -c32); gRPC; served examples/s against the in-process batched call of the same
signature; a hot swap under load.

    .venv/bin/python -m bench.bench_serving [--seconds 10]

The model is a DNN on 12 raw features (10 float, 2 string, preprocessing inside), exported as
the export stage does (serving_default, classify, warmup, integrity manifest).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import workbench  # noqa: F401 - before TensorFlow
from bench._common import emit

BENCH = "serving"
MODEL = "fraud"
PEER = "threaded Flask app, SavedModel called per request"


def _peer_app(export_dir: str, port: int) -> None:
    """The peer: the pattern the seeds warn about."""
    import numpy as np
    import tensorflow as tf
    from flask import Flask, jsonify, request

    fn = tf.saved_model.load(export_dir).signatures["serving_default"]
    specs = fn.structured_input_signature[1]
    app = Flask("peer")

    @app.post(f"/v1/models/{MODEL}:predict")
    def predict():  # noqa: ANN202
        instances = request.get_json()["instances"]
        inputs = {k: tf.constant(np.array([i[k] for i in instances],
                                          dtype=object if s.dtype == tf.string else np.float32))
                  for k, s in specs.items()}
        out = fn(**inputs)
        out = {k: v.numpy() for k, v in out.items()}
        return jsonify({"predictions": [{k: v[i].tolist() for k, v in out.items()}
                                        for i in range(len(instances))]})

    app.run("127.0.0.1", port, threaded=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(port: int, path: str, body: bytes, timeout: float = 120) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"nothing answered on port {port}")


def _batch_stats(metrics: str) -> float:
    total = re.search(r"processed_batch_size_sum\{[^}]*\} (\S+)", metrics)
    count = re.search(r"processed_batch_size_count\{[^}]*\} (\S+)", metrics)
    return float(total.group(1)) / float(count.group(1)) if total and count else 1.0


def _in_process_limit(export_dir: Path, batch: int, cols_fn) -> float:
    import tensorflow as tf

    fn = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    cols = {k: tf.constant(v) for k, v in cols_fn(batch).items()}
    for _ in range(20):
        fn(**cols)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 3:
        fn(**cols)
        n += 1
    return n * batch / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--peer", nargs=2, metavar=("EXPORT", "PORT"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.peer:
        _peer_app(a.peer[0], int(a.peer[1]))
        return 0

    from tests.serving.demo_model import columns, export, rows
    from workbench.serving.control import Controller
    from workbench.serving.loadtest import grpc_load, rest_load
    from workbench.serving.process import start_local, stop
    from workbench.serving.repository import Repository

    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    peer_proc = None
    repo = Repository(work / "serving")
    try:
        v1 = export(work / "export-v1", seed=0)
        v2 = export(work / "export-v2", seed=1)
        body = json.dumps({"instances": rows(1, seed=3)}).encode()
        path = f"/v1/models/{MODEL}:predict"

        # the peer, measured first (alone on the machine)
        peer_port = _free_port()
        peer_proc = subprocess.Popen([sys.executable, "-m", "bench.bench_serving", "--peer",
                                      str(v1), str(peer_port)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, cwd=Path(__file__).parent.parent)
        _wait_http(peer_port, path, body)
        rest_load(f"http://127.0.0.1:{peer_port}{path}", body, concurrency=32, seconds=2)
        peer = rest_load(f"http://127.0.0.1:{peer_port}{path}", body, concurrency=32,
                         seconds=a.seconds)
        peer_proc.terminate()
        peer_proc.wait(timeout=15)
        peer_proc = None

        repo.init()
        Controller(repo).deploy(MODEL, repo.push(v1, MODEL).version, label="stable")
        handle = start_local(repo, rest_port=0, grpc_port=0, poll_seconds=0.5,
                             config_poll_seconds=0.5)
        url = f"{handle.rest_url}{path}"
        rest_load(url, body, concurrency=32, seconds=2)          # warm up
        ours = rest_load(url, body, concurrency=32, seconds=a.seconds)
        batch = _batch_stats(handle.rest().metrics())
        grpc = grpc_load(f"127.0.0.1:{handle.grpc_port}", MODEL, columns(rows(1, seed=3)),
                         concurrency=32, seconds=a.seconds)

        emit(BENCH, "rest_throughput_32c", workbench=ours.throughput, peer=peer.throughput,
             peer_name=PEER, unit="req/s", target=">= 5x peer",
             ok=ours.throughput >= 5 * peer.throughput, tool=ours.tool,
             errors=ours.errors, peer_errors=peer.errors)
        emit(BENCH, "rest_p99_32c", workbench=ours.latency_ms["p99"],
             peer=peer.latency_ms["p99"], peer_name=PEER, unit="ms", target="<= 0.3x peer",
             ok=ours.latency_ms["p99"] <= 0.3 * peer.latency_ms["p99"],
             p50=ours.latency_ms["p50"], peer_p50=peer.latency_ms["p50"])
        emit(BENCH, "grpc_throughput_32c", workbench=grpc.throughput, peer=peer.throughput,
             peer_name=PEER + " (REST)", unit="req/s", target=None, ok=None,
             errors=grpc.errors, client=grpc.tool)
        emit(BENCH, "grpc_p99_32c", workbench=grpc.latency_ms["p99"],
             peer=peer.latency_ms["p99"], peer_name=PEER + " (REST)", unit="ms",
             target=None, ok=None, p50=grpc.latency_ms["p50"])

        size = max(1, round(batch))
        limit = _in_process_limit(v1, size, lambda n: columns(rows(n, seed=5)))
        emit(BENCH, "served_fraction_of_in_process", workbench=ours.throughput, peer=limit,
             peer_name=f"in-process signature call at batch {size} (examples/s)",
             unit="examples/s", target=None, ok=None, mean_batch=round(batch, 2))

        # hot swap under load
        ctl = Controller(repo, handle.rest(), handle.grpc(), timeout=60)
        result: dict = {}
        loader = threading.Thread(target=lambda: result.update(
            r=rest_load(url, body, concurrency=32, seconds=8)))
        loader.start()
        time.sleep(2)
        t0 = time.monotonic()
        pushed = repo.push(v2, MODEL)
        ctl.deploy(MODEL, pushed.version, label="stable")
        took = None
        probe = handle.grpc()
        while time.monotonic() - t0 < 20:
            if probe.predict(MODEL, columns(rows(1)))[1] == pushed.version:
                took = time.monotonic() - t0
                break
            time.sleep(0.01)
        loader.join()
        swap = result["r"]
        emit(BENCH, "hot_swap_new_version_s", workbench=took if took is not None else -1,
             unit="s", target="<= 2 s", ok=took is not None and took <= 2.0)
        emit(BENCH, "hot_swap_failed_requests", workbench=swap.errors, unit="requests",
             target="0", ok=swap.errors == 0, requests=swap.requests,
             throughput=round(swap.throughput, 1))

        # SIGKILL, restart: seconds until the stable label answers again, no model lost
        import os
        import signal

        os.kill(handle.pid, signal.SIGKILL)
        time.sleep(0.5)
        t0 = time.monotonic()
        again = start_local(repo, rest_port=0, grpc_port=0)
        again.rest().predict(MODEL, instances=rows(1), label="stable")
        emit(BENCH, "restart_after_sigkill_s", workbench=time.monotonic() - t0, unit="s",
             target="seconds", ok=None, versions=again.rest().available(MODEL))
        stop(repo)
    finally:
        if peer_proc is not None:
            peer_proc.kill()
        stop(repo)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
