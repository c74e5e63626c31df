"""Operations: the cost of request logging and the speed of ``workbench monitor``.

* REST throughput of the local server on the demo model under ``wrk -c32``, request logging
  off against 100 % sampling (issue 14: logging costs at most 10 % of the throughput);
* ``workbench monitor`` (read the logs, statistics, skew and drift) over 1M logged requests
  (target: at most 10 s), beside decoding the same PredictionLog records without the index.

    .venv/bin/python -m bench.bench_ops [--seconds 10] [--logging-only]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from bench._common import emit

BENCH = "ops"
MODEL = "fraud"


def _throughput(seconds: float) -> tuple[float, float, int]:
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
        off, on = [], []
        for _ in range(2):  # interleaved, so drift of the machine hits both alike
            off.append(rest_load(url, body, concurrency=32, seconds=seconds).throughput)
            enable_logging(repo, MODEL, sampling_rate=1.0)
            deadline = time.monotonic() + 30
            while not log_files(log_prefix(repo, MODEL)) and time.monotonic() < deadline:
                rest_load(url, body, concurrency=1, seconds=0.5)
            on.append(rest_load(url, body, concurrency=32, seconds=seconds).throughput)
            enable_logging(repo, MODEL, sampling_rate=0.0)
            time.sleep(1.5)  # the config poll (0.5 s) turns logging off again
        dropped = 0
        for line in handle.rest().metrics().splitlines():
            if line.startswith("workbench_request_log_dropped{"):
                dropped += int(float(line.rsplit(" ", 1)[1]))
    finally:
        stop(repo)
    return sum(off) / len(off), sum(on) / len(on), dropped


def _monitor(requests: int) -> tuple[float, float, int]:
    import pyarrow as pa

    from tests.serving.demo_model import columns, rows
    from workbench.data.schema import infer_schema
    from workbench.data.stats import compute_statistics
    from workbench.runs.step import Step
    from workbench.runs.store import RunStore
    from workbench.serving.config import model_config
    from workbench.serving.monitor import enable_logging, log_prefix, monitor
    from workbench.serving.repository import Repository
    from workbench.serving.requestlog import RequestLogs, read_request_logs

    project = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    (project / "workbench.yaml").write_text("runs_dir: runs\n")
    os.environ["WORKBENCH_HOME"] = str(project)
    train = rows(20_000, seed=0)
    run = RunStore(project / "runs").create(state="succeeded")
    step = Step(run, "01_data_validation", "compute")
    stats = compute_statistics(pa.table({k: [r[k] for r in train] for k in train[0]}))
    step.save("stats_train", stats, kind="proto")
    step.save("schema", infer_schema(stats, drift_threshold=0.1, skew_threshold=0.1),
              kind="pbtxt")
    step.finish()
    repo = Repository(project / "serving")
    repo.init()
    cfg = repo.read_config()
    cfg.model_config_list.config.add().CopyFrom(model_config(MODEL, str(repo.base_path(MODEL))))
    repo.write_config(cfg)
    enable_logging(repo, MODEL)
    logs = RequestLogs(queue_size=1 << 20)
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
    report = monitor(repo, MODEL, run=run.id)
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
    p.add_argument("--logging-only", action="store_true",
                   help="only the REST throughput with request logging off and at 100 %%")
    a = p.parse_args(argv)
    off, on, dropped = _throughput(a.seconds)
    emit(BENCH, "rest_throughput_logging_100pct", workbench=on, peer=off,
         peer_name="same server, request logging off", unit="req/s",
         target=">= 0.9x logging off", ok=on >= 0.9 * off, dropped_records=dropped)
    if a.logging_only:
        return 0
    ours, decode, records = _monitor(a.requests)
    emit(BENCH, "monitor_1m_requests_s", workbench=ours, peer=decode,
         peer_name="reading the same PredictionLog records without the index (read only)",
         unit="s", target="<= 10 s", ok=ours <= 10.0, requests=records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
