"""Load tests, always in a separate process: ``wrk`` for REST (a Lua script sends the POST body
and prints its latency percentiles as JSON), or this module's own client (``python -m
workbench.serving.loadtest``: asyncio keep-alive HTTP for REST, threads for gRPC) where wrk is
not installed or for gRPC.

Each run reports throughput, p50/p95/p99 latency, the error count and a percentile curve (for
the plot in the notebook).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from workbench.errors import WorkbenchError

__all__ = ["LoadResult", "grpc_load", "rest_load"]

log = logging.getLogger(__name__)

CURVE = (1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9)
TOKEN_ENV = "WORKBENCH_LOADTEST_TOKEN"


@dataclass
class LoadResult:
    tool: str
    target: str
    concurrency: int
    seconds: float
    requests: int
    errors: int
    throughput: float                       # requests per second
    latency_ms: dict[str, float]            # p50, p90, p95, p99, max, mean
    curve: list[list[float]] = field(default_factory=list)   # [[percentile, ms], ...]
    error_kinds: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        lat = self.latency_ms
        return (f"{self.throughput:,.0f} req/s, p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} "
                f"ms, p99 {lat['p99']:.1f} ms, {self.errors} errors ({self.tool}, "
                f"{self.concurrency} connections, {self.seconds:g} s)")


def _result(tool: str, target: str, concurrency: int, seconds: float, lat_us: np.ndarray,
            errors: int, kinds: dict[str, int]) -> LoadResult:
    ms = lat_us / 1000.0 if lat_us.size else np.zeros(1)
    pct = {f"p{p:g}": float(np.percentile(ms, p)) for p in (50, 90, 95, 99)}
    pct.update(max=float(ms.max()), mean=float(ms.mean()))
    curve = [[float(p), float(np.percentile(ms, p))] for p in CURVE]
    return LoadResult(tool, target, concurrency, seconds, int(lat_us.size) + errors, errors,
                      (lat_us.size + errors) / seconds, pct, curve, kinds)


# -- wrk ---------------------------------------------------------------------------------------

_LUA = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
{auth}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WBJSON{{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"max":%d,"mean":%f,"curve":[',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.max, latency.mean))
  local ps = {{{curve}}}
  for i, p in ipairs(ps) do
    if i > 1 then io.write(",") end
    io.write(string.format("[%g,%d]", p, latency:percentile(p)))
  end
  io.write("]}}\\n")
end
"""


def _wrk(url: str, body: bytes, concurrency: int, seconds: float, token: str | None,
         threads: int) -> LoadResult:
    text = body.decode("utf-8")
    if "]==]" in text:
        raise WorkbenchError("the request body cannot be embedded in the wrk script")
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    script = _LUA.format(body=text, auth=auth, curve=",".join(f"{p:g}" for p in CURVE))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
        lua = fh.name
    try:
        proc = subprocess.run(
            ["wrk", f"-t{max(1, min(threads, concurrency))}", f"-c{concurrency}",
             f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", lua, url],
            capture_output=True, text=True, timeout=seconds + 60)
    finally:
        Path(lua).unlink(missing_ok=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WBJSON")), None)
    if proc.returncode != 0 or line is None:
        raise WorkbenchError(f"wrk failed (exit {proc.returncode}): "
                             f"{(proc.stderr or proc.stdout)[-500:]}",
                             hint="check that the server is running and the URL is right")
    doc = json.loads(line[len("WBJSON"):])
    dur = doc["duration_us"] / 1e6
    kinds = {k: int(doc[k]) for k in ("connect", "read", "write", "status", "timeout")
             if doc[k]}
    errors = sum(kinds.values())
    curve = [[float(p), v / 1000.0] for p, v in doc["curve"]]
    by = dict((p, v) for p, v in curve)
    lat = {"p50": by[50.0], "p90": by[90.0], "p95": by[95.0], "p99": by[99.0],
           "max": doc["max"] / 1000.0, "mean": doc["mean"] / 1000.0}
    requests = int(doc["requests"])
    return LoadResult("wrk", url, concurrency, round(dur, 3), requests, errors,
                      requests / dur if dur else 0.0, lat, curve, kinds)


# -- own clients (run in a child process) --------------------------------------------------------

async def _http_worker(host: str, port: int, request: bytes, stop_at: float,
                       lat: list[float], kinds: dict[str, int]) -> None:
    reader = writer = None
    while time.perf_counter() < stop_at:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if status == 200:
                lat.append((time.perf_counter() - t0) * 1e6)
            else:
                kinds[f"http_{status}"] = kinds.get(f"http_{status}", 0) + 1
            if b"connection: close" in head.lower():
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError) as err:
            kinds[type(err).__name__] = kinds.get(type(err).__name__, 0) + 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


def _python_rest(url: str, body: bytes, concurrency: int, seconds: float,
                 token: str | None) -> LoadResult:
    parts = urlsplit(url)
    headers = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}",
               "Content-Type: application/json", f"Content-Length: {len(body)}"]
    if token:
        headers.append(f"Authorization: Bearer {token}")
    request = ("\r\n".join(headers) + "\r\n\r\n").encode() + body
    lat: list[float] = []
    kinds: dict[str, int] = {}

    async def main() -> float:
        t0 = time.perf_counter()
        stop_at = t0 + seconds
        await asyncio.gather(*(_http_worker(parts.hostname, parts.port or 80, request,
                                            stop_at, lat, kinds) for _ in range(concurrency)))
        return time.perf_counter() - t0

    took = asyncio.run(main())
    return _result("python-asyncio", url, concurrency, round(took, 3), np.array(lat),
                   sum(kinds.values()), kinds)


def _python_grpc(target: str, model: str, inputs: dict[str, np.ndarray], concurrency: int,
                 seconds: float, token: str | None, signature: str | None) -> LoadResult:
    """``concurrency`` concurrent Predict calls on one asyncio gRPC channel."""
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    from workbench.serving.codec import tensor_proto

    req = predict_pb2.PredictRequest()
    req.model_spec.name = model
    if signature:
        req.model_spec.signature_name = signature
    for k, v in inputs.items():
        req.inputs[k].CopyFrom(tensor_proto(np.asarray(v)))
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    lat: list[float] = []
    kinds: dict[str, int] = {}

    async def main() -> float:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            t0 = time.perf_counter()
            stop_at = t0 + seconds

            async def worker() -> None:
                while time.perf_counter() < stop_at:
                    s = time.perf_counter()
                    try:
                        await stub.Predict(req, timeout=10, metadata=metadata)
                        lat.append((time.perf_counter() - s) * 1e6)
                    except grpc.aio.AioRpcError as err:
                        name = err.code().name if err.code() else "UNKNOWN"
                        kinds[name] = kinds.get(name, 0) + 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.perf_counter() - t0

    took = asyncio.run(main())
    return _result("python-grpc-aio", target, concurrency, round(took, 3), np.array(lat),
                   sum(kinds.values()), kinds)


# -- public entry points (each spawns a process) -------------------------------------------------

def rest_load(url: str, body: bytes | dict, *, concurrency: int = 32, seconds: float = 10.0,
              token: str | None = None, tool: str = "auto", threads: int = 2) -> LoadResult:
    """Load ``url`` with POSTs of ``body`` from a separate process (wrk when installed)."""
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    if tool == "wrk":
        if not shutil.which("wrk"):
            raise WorkbenchError("wrk is not installed", hint="apt-get install wrk, or use "
                                 "tool='python'")
        return _wrk(url, body, concurrency, seconds, token, threads)
    if tool != "python":
        raise WorkbenchError(f"unknown load tool '{tool}'", hint="use auto, wrk or python")
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as fh:
        fh.write(body)
    try:
        return _child(["rest", url, "--body-file", fh.name], concurrency, seconds, token)
    finally:
        Path(fh.name).unlink(missing_ok=True)


def grpc_load(target: str, model: str, inputs: dict[str, np.ndarray], *,
              concurrency: int = 32, seconds: float = 10.0, token: str | None = None,
              signature: str | None = None) -> LoadResult:
    """Load a gRPC Predict endpoint with one request, from a separate process."""
    with tempfile.NamedTemporaryFile("wb", suffix=".npz", delete=False) as fh:
        np.savez(fh, **{k: np.asarray(v) for k, v in inputs.items()})
    try:
        args = ["grpc", target, "--model", model, "--inputs-file", fh.name]
        if signature:
            args += ["--signature", signature]
        return _child(args, concurrency, seconds, token)
    finally:
        Path(fh.name).unlink(missing_ok=True)


def _child(args: list[str], concurrency: int, seconds: float, token: str | None) -> LoadResult:
    argv = [sys.executable, "-m", "workbench.serving.loadtest", *args,
            "--concurrency", str(concurrency), "--seconds", str(seconds)]
    env = dict(os.environ)
    if token:  # through the environment: not on the process list
        env[TOKEN_ENV] = token
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120, env=env)
    if proc.returncode != 0:
        raise WorkbenchError(f"load test process failed: {proc.stderr[-800:]}")
    return LoadResult(**json.loads(proc.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m workbench.serving.loadtest")
    p.add_argument("kind", choices=["rest", "grpc"])
    p.add_argument("target", help="REST URL, or host:port for gRPC")
    p.add_argument("--body-file")
    p.add_argument("--model")
    p.add_argument("--inputs-file")
    p.add_argument("--signature")
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--seconds", type=float, default=10.0)
    a = p.parse_args(argv)
    token = os.environ.get(TOKEN_ENV) or None
    if a.kind == "rest":
        result = _python_rest(a.target, Path(a.body_file).read_bytes(), a.concurrency,
                              a.seconds, token)
    else:
        import workbench  # noqa: F401 - quiet TensorFlow before it loads

        with np.load(a.inputs_file, allow_pickle=True) as data:
            inputs = {k: data[k] for k in data.files}
        result = _python_grpc(a.target, a.model, inputs, a.concurrency, a.seconds, token,
                              a.signature)
    sys.stdout.write(json.dumps(result.to_dict()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
