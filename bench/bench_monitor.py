"""``workbench monitor`` over 1M logged requests, as the command runs it (target: at most 10 s).

The logs are TFRecord files of ``PredictionLog`` records written with the server's own
encoding (:func:`workbench.serving.requestlog.encode_predict_log`, one instance per request,
the demo model's 12 inputs, 64 MB files as the server rotates them) and without the Parquet
index the server writes beside a closed file: the reader decodes every record, as it must for
files TF Serving wrote or files still open. Figures:

* ``monitor_1m_requests_s`` (``_200k_`` with ``--requests 200000``): wall time of the
  ``workbench monitor`` process (start-up, reading the logs, statistics, skew, gauges; the
  median of 3 runs; ``cpu_s`` its CPU time, ``load_avg`` the machine's load), beside reading
  the same rows from a Parquet file and computing their statistics with the same code;
* ``request_log_decode_1m_s``: reading the records alone, in this process, beside decoding them
  record by record with the protobuf classes (measured on the first 20,000 records, scaled).

    .venv/bin/python -m bench.bench_monitor [--requests 1000000]
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._common import emit

BENCH = "monitor"
MODEL = "fraud"
FILE_BYTES = 64 << 20  # the server's default rotation size
SAMPLE = 20_000  # records decoded one by one for the peer's rate
RUNS = 3  # workbench monitor runs; the median is the figure


def monitored_project(work: Path) -> tuple[Path, str]:
    """A project with a training run (statistics and schema of the demo data) and a model
    repository whose model logs requests."""
    import pyarrow as pa

    from tests.serving.demo_model import rows
    from workbench.data.schema import infer_schema
    from workbench.data.stats import compute_statistics
    from workbench.runs.step import Step
    from workbench.runs.store import RunStore
    from workbench.serving.config import model_config
    from workbench.serving.monitor import enable_logging
    from workbench.serving.repository import Repository

    (work / "workbench.yaml").write_text("runs_dir: runs\n")
    train = rows(20_000, seed=0)
    run = RunStore(work / "runs").create(state="succeeded")
    step = Step(run, "01_data_validation", "compute")
    stats = compute_statistics(pa.table({k: [r[k] for r in train] for k in train[0]}))
    step.save("stats_train", stats, kind="proto")
    step.save("schema", infer_schema(stats, drift_threshold=0.1, skew_threshold=0.1),
              kind="pbtxt")
    step.finish()
    repo = Repository(work / "serving")
    repo.init()
    cfg = repo.read_config()
    cfg.model_config_list.config.add().CopyFrom(model_config(MODEL, str(repo.base_path(MODEL))))
    repo.write_config(cfg)
    enable_logging(repo, MODEL)
    return repo.root, run.id


def _write_logs(folder: Path, requests: int) -> list[Path]:
    """``requests`` PredictionLog records in rotated TFRecord files, encoded by the writer's
    own function (no HTTP, no writer thread, no index)."""
    import tensorflow as tf

    from tests.serving.demo_model import columns, rows
    from workbench.serving.requestlog import _Entry, encode_predict_log

    folder.mkdir(parents=True, exist_ok=True)
    pool = [columns([r]) for r in rows(2000, seed=4)]
    out = {"probabilities": np.full((1, 1), 0.2, dtype=np.float32)}
    now = int(time.time()) - 60
    files: list[Path] = []
    writer, size = None, FILE_BYTES
    for i in range(requests):
        if size >= FILE_BYTES:
            if writer is not None:
                writer.close()
            files.append(folder / f"{MODEL}-bench-{len(files) + 1:05d}.tfrecord")
            writer, size = tf.io.TFRecordWriter(str(files[-1])), 0
        record = encode_predict_log(_Entry("predict", MODEL, 1, "serving_default",
                                           pool[i % len(pool)], out, 1, now))
        writer.write(record)
        size += len(record) + 16
    if writer is not None:
        writer.close()
    return files


def _parquet_peer(files: list[Path], work: Path) -> float:
    """The same rows from a Parquet file through the existing statistics code."""
    import pyarrow.parquet as pq

    from workbench.data.predictionlog import read_request_logs
    from workbench.data.readers import read_data
    from workbench.data.stats import compute_statistics

    path = work / "logged.parquet"
    pq.write_table(read_request_logs(files[0].parent, model=MODEL).features(), path)
    t0 = time.perf_counter()
    compute_statistics(read_data(path))
    return time.perf_counter() - t0


def _record_by_record(files: list[Path], requests: int) -> float:
    from workbench.data.predictionlog import _decode_records, _framing

    data = files[0].read_bytes()
    frames, _ = _framing(data)
    sample = [data[a:b] for a, b in frames[:SAMPLE].tolist()]
    t0 = time.perf_counter()
    _decode_records(files[0], sample, 0, MODEL, None, [], collections.Counter())
    return (time.perf_counter() - t0) * requests / len(sample)


def _count(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=1_000_000)
    a = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    os.environ["WORKBENCH_HOME"] = str(work)
    repository, run = monitored_project(work)
    t0 = time.perf_counter()
    files = _write_logs(repository / "requests", a.requests)
    generated = time.perf_counter() - t0

    workbench = str(Path(sys.executable).with_name("workbench"))
    walls, cpus = [], []
    for _ in range(RUNS):  # the machine is shared: the median of a few runs
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run([workbench, "monitor", "--model", MODEL, "--run", run,
                               "--repository", str(repository), "--json"], cwd=work,
                              capture_output=True, text=True, env={**os.environ})
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if proc.returncode not in (0, 3):
            sys.stderr.write(proc.stdout + proc.stderr)
            return 1
    wall = statistics.median(walls)
    import json

    report = json.loads(proc.stdout)
    assert report["instances"] == a.requests, report["instances"]
    peer = _parquet_peer(files, work)
    emit(BENCH, f"monitor_{_count(a.requests)}_requests_s", workbench=wall, peer=peer,
         peer_name="the same rows from one Parquet file: read + statistics (no process "
                   "start, no skew)", unit="s", target="<= 10 s", ok=wall <= 10.0,
         requests=a.requests, files=len(files), generate_s=round(generated, 1),
         runs_s=[round(w, 2) for w in walls], cpu_s=round(statistics.median(cpus), 2),
         load_avg=round(os.getloadavg()[0], 1), exit_code=proc.returncode)

    from workbench.data.predictionlog import read_request_logs

    t0 = time.perf_counter()
    got = read_request_logs(repository / "requests", model=MODEL)
    decode = time.perf_counter() - t0
    assert got.rows == a.requests
    emit(BENCH, f"request_log_decode_{_count(a.requests)}_s", workbench=decode,
         peer=_record_by_record(files, a.requests),
         peer_name=f"record by record with the protobuf classes (the previous decoding; "
                   f"{SAMPLE:,} records timed, scaled)", unit="s", target=None, ok=None,
         requests=a.requests)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
