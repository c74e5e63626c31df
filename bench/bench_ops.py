"""Operations: the cost of request logging and the speed of ``workbench monitor``.

* REST throughput of the local server on the demo model under ``wrk -c32``, request logging
  off against 100 % sampling (issue 14: logging costs at most 10 % of the throughput), and
  the writer's CPU per record (what it takes from the event loop, which shares its GIL);
* ``workbench monitor`` (read the logs, statistics, skew and drift) over 1M logged requests
  (target: at most 10 s), beside decoding the same PredictionLog records without the index.

    .venv/bin/python -m bench.bench_ops [--seconds 10] [--rounds 4] [--logging-only]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench._common import emit

BENCH = "ops"
MODEL = "fraud"


def _throughput(seconds: float, rounds: int = 4
                ) -> tuple[list[float], list[float], int, dict[bool, float]]:
    """REST req/s with request logging off and at 100 %, ``rounds`` pairs in ABBA order
    (off-on, on-off, …) so a machine shared with other work drifts into both alike; and the
    server process's CPU microseconds per request, off and on."""
    import psutil

    from tests.serving.demo_model import export, rows
    from workbench.serving.control import Controller
    from workbench.serving.loadtest import rest_load
    from workbench.serving.monitor import enable_logging, log_prefix
    from workbench.serving.process import start_local, stop
    from workbench.serving.repository import Repository
    from workbench.serving.requestlog import log_files

    work = Path(tempfile.mkdtemp(prefix="bench-ops-"))
    repo = Repository(work / "serving")
    repo.init()
    Controller(repo).deploy(MODEL, repo.push(export(work / "v1"), MODEL).version,
                            label="stable")
    handle = start_local(repo, rest_port=0, grpc_port=0, poll_seconds=0.5,
                         config_poll_seconds=0.5)
    try:
        url = f"{handle.rest_url}/v1/models/{MODEL}:predict"
        body = json.dumps({"instances": rows(1, seed=3)}).encode()
        rest_load(url, body, concurrency=32, seconds=2)  # warm up

        def logging(on: bool) -> None:
            enable_logging(repo, MODEL, sampling_rate=1.0 if on else 0.0)
            time.sleep(1.5)  # the config poll (0.5 s) applies it
            deadline = time.monotonic() + 30
            while on and not log_files(log_prefix(repo, MODEL)) \
                    and time.monotonic() < deadline:
                rest_load(url, body, concurrency=1, seconds=0.5)

        off, on = [], []
        cpu = {False: 0.0, True: 0.0}
        served = {False: 0, True: 0}
        server = psutil.Process(handle.pid)
        state = False
        for i in range(rounds):
            for want in ((False, True) if i % 2 == 0 else (True, False)):
                if want != state:
                    logging(want)
                    state = want
                before = sum(server.cpu_times()[:2])
                result = rest_load(url, body, concurrency=32, seconds=seconds)
                cpu[want] += sum(server.cpu_times()[:2]) - before
                served[want] += result.requests
                (on if want else off).append(result.throughput)
        dropped = 0
        for line in handle.rest().metrics().splitlines():
            if line.startswith("workbench_request_log_dropped{"):
                dropped += int(float(line.rsplit(" ", 1)[1]))
    finally:
        stop(repo)
    return off, on, dropped, {k: cpu[k] / max(served[k], 1) * 1e6 for k in cpu}


def _writer_cost(records: int = 20_000) -> tuple[float, float, float]:
    """CPU microseconds per record of the request-log writer (the work the event loop shares
    the GIL with): encoding and writing a demo-model predict record, and building the index at
    close; beside building the same PredictionLog through the protobuf API and writing it."""
    import numpy as np
    import tensorflow as tf

    from tests.serving.demo_model import columns, rows
    from workbench.serving.requestlog import RequestLogs, prediction_log
    from workbench.serving.requestlog import _Entry as Entry

    work = Path(tempfile.mkdtemp(prefix="bench-writer-"))
    repo_cfg = _logging_config(work / "requests" / MODEL)
    pool = [columns([r]) for r in rows(1000, seed=4)]
    out = {"probabilities": np.full((1, 1), 0.2, dtype=np.float32),
           "class_ids": np.zeros((1, 1), dtype=np.int64)}
    logs = RequestLogs(queue_size=records + 1, index=True)  # its cost is reported apart
    logs.configure(repo_cfg)
    logs.close()  # the writer thread: this thread drains instead, timed
    logs._open(logs._targets[MODEL]).writer.close()  # TensorFlow's writer loaded before timing
    for i in range(records):
        logs.offer("predict", MODEL, 1, "serving_default", pool[i % len(pool)], out, 1)
    t0 = time.thread_time()
    while logs._pending:
        logs._write(logs._pending.popleft())
    ours = (time.thread_time() - t0) / records * 1e6
    t0 = time.thread_time()
    for model in list(logs._files):
        logs._close_file(model)
    index = (time.thread_time() - t0) / records * 1e6
    entries = [Entry("predict", MODEL, 1, "serving_default", pool[i % len(pool)], out, 1,
                     time.time()) for i in range(records)]
    with tf.io.TFRecordWriter(str(work / "peer.tfrecord")) as w:
        t0 = time.thread_time()
        for e in entries:
            w.write(prediction_log(e).SerializeToString())
        peer = (time.thread_time() - t0) / records * 1e6
    return ours, index, peer


def _logging_config(prefix: Path):  # noqa: ANN202
    from tensorflow_serving.config import model_server_config_pb2

    from workbench.serving.config import model_config
    from workbench.serving.requestlog import logging_config

    cfg = model_server_config_pb2.ModelServerConfig()
    entry = model_config(MODEL, "/models/" + MODEL)
    entry.logging_config.CopyFrom(logging_config(str(prefix), 1.0))
    cfg.model_config_list.config.add().CopyFrom(entry)
    return cfg


def _monitor(requests: int) -> tuple[float, float, int]:
    from bench.bench_monitor import monitored_project
    from tests.serving.demo_model import columns, rows
    from workbench.serving.monitor import log_prefix, monitor
    from workbench.serving.repository import Repository
    from workbench.serving.requestlog import RequestLogs, read_request_logs

    project = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    os.environ["WORKBENCH_HOME"] = str(project)
    repo_root, run_id = monitored_project(project)
    repo = Repository(repo_root)
    logs = RequestLogs(queue_size=1 << 20, index=True)  # the indexed figure
    logs.configure(repo.read_config())
    pool = [columns([r]) for r in rows(2000, seed=4)]
    out = {"probabilities": __import__("numpy").full((1, 1), 0.2, dtype="float32")}
    now = time.time()
    for i in range(requests):
        logs.offer("predict", MODEL, 1, "serving_default", pool[i % len(pool)], out, 1,
                   timestamp=now - 60)
        if i % 100_000 == 99_999:
            logs.flush(600)
    logs.close(600)

    t0 = time.perf_counter()
    report = monitor(repo, MODEL, run=run_id)
    ours = time.perf_counter() - t0
    assert report.logs.rows == requests, report.logs.rows
    for index in log_prefix(repo, MODEL).parent.glob("*.parquet"):
        index.unlink()
    t0 = time.perf_counter()
    read_request_logs(log_prefix(repo, MODEL), model=MODEL)
    decode = time.perf_counter() - t0
    return ours, decode, report.logs.records


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--requests", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=4,
                   help="pairs of logging off/on runs (ABBA order)")
    p.add_argument("--logging-only", action="store_true",
                   help="only the REST throughput with request logging off and at 100 %%")
    a = p.parse_args(argv)
    off, on, dropped, cpu = _throughput(a.seconds, a.rounds)
    # the figure: the median of the rounds' on/off ratios (one noisy round does not decide)
    ratios = sorted(b / a for a, b in zip(off, on, strict=True))
    median = statistics.median(ratios)
    emit(BENCH, "rest_throughput_logging_100pct", workbench=statistics.mean(on),
         peer=statistics.mean(off), peer_name="same server, request logging off",
         unit="req/s", target=">= 0.9x logging off (median of the rounds)", ok=median >= 0.9,
         median_round_ratio=round(median, 4), round_ratios=[round(r, 3) for r in ratios],
         rounds=a.rounds, seconds=a.seconds, dropped_records=dropped)
    emit(BENCH, "server_cpu_us_per_request_logging_100pct", workbench=cpu[True],
         peer=cpu[False], peer_name="same server, request logging off", unit="us",
         target=None, ok=None)
    ours, index, peer = _writer_cost()
    emit(BENCH, "request_log_writer_cpu_us_per_record", workbench=ours, peer=peer,
         peer_name="the same PredictionLog built with the protobuf API, written", unit="us",
         target=None, ok=None, index_us_per_record=round(index, 2))
    if a.logging_only:
        return 0
    ours, decode, records = _monitor(a.requests)
    emit(BENCH, "monitor_1m_requests_s", workbench=ours, peer=decode,
         peer_name="reading the same PredictionLog records without the index (read only)",
         unit="s", target="<= 10 s", ok=ours <= 10.0, requests=records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
