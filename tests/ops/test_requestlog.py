"""Request logs in TF Serving's format (PredictionLog TFRecords from logging_config) and skew
measured on them with stage 01's statistics and validation."""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np
import pytest
from tensorflow_serving.config import model_server_config_pb2

from tests.conftest import run_workbench
from tests.serving.demo_model import COUNTRIES, NUMERIC, columns, rows
from workbench.errors import DataError
from workbench.serving.config import model_config
from workbench.serving.metrics import REQUEST_LOG_RECORDS, Metrics
from workbench.serving.requestlog import (
    RequestLogs,
    log_files,
    logging_config,
    read_request_logs,
)

MODEL = "fraud"


def _config(prefix: Path, rate: float = 1.0, model: str = MODEL):
    cfg = model_server_config_pb2.ModelServerConfig()
    entry = model_config(model, "/models/" + model)
    entry.logging_config.CopyFrom(logging_config(str(prefix), rate))
    cfg.model_config_list.config.add().CopyFrom(entry)
    return cfg


def _offer(logs: RequestLogs, data: list[dict], *, model: str = MODEL, per_request: int = 2,
           timestamp: float | None = None) -> None:
    for i in range(0, len(data), per_request):
        chunk = data[i:i + per_request]
        cols = columns(chunk)
        probs = np.full((len(chunk), 1), 0.25, dtype=np.float32)
        logs.offer("predict", model, 1, "serving_default", cols, {"probabilities": probs},
                   len(chunk), timestamp=timestamp)


def _logged(tmp_path: Path, data: list[dict], **kw) -> tuple[RequestLogs, Path]:
    prefix = tmp_path / "requests" / MODEL
    logs = RequestLogs(Metrics(), **kw)
    logs.configure(_config(prefix))
    _offer(logs, data)
    logs.close()
    return logs, prefix


@pytest.mark.slow
def test_the_local_server_logs_rest_and_grpc_requests_of_a_logging_model(tmp_path, exports):
    from workbench.serving.control import Controller
    from workbench.serving.monitor import enable_logging, log_prefix
    from workbench.serving.process import start_local, stop
    from workbench.serving.repository import Repository

    repo = Repository(tmp_path / "serving")
    repo.init()
    Controller(repo).deploy(MODEL, repo.push(exports[1], MODEL).version, label="stable")
    enable_logging(repo, MODEL, sampling_rate=1.0)
    # a label move rewrites the model's entry: its logging_config must survive it
    Controller(repo).deploy(MODEL, repo.push(exports[2], MODEL).version, label="canary")
    assert repo.model(MODEL).HasField("logging_config")
    handle = start_local(repo, rest_port=0, grpc_port=0, poll_seconds=0.2,
                         config_poll_seconds=0.2)
    try:
        rest, grpc = handle.rest(), handle.grpc()
        data = rows(30, seed=9)
        for i in range(0, 30, 3):
            rest.predict(MODEL, instances=data[i:i + 3], label="stable")
        grpc.predict(MODEL, columns(data[:4]), label="canary")
        rest.classify(MODEL, data[:2], signature_name="classify")
        refused = rest.request("POST", f"/v1/models/{MODEL}:predict",
                               {"instances": [{"x0": "text"}]})[0]
        assert refused == 400
        metrics = rest.metrics()
    finally:
        stop(repo)  # closes the log files (and writes their index)
    log = read_request_logs(log_prefix(repo, MODEL), model=MODEL)
    assert log.records == 12  # 10 REST + 1 gRPC predict + 1 classify; the refused one is not
    assert log.rows == 30 + 4 + 2
    versions = log.table["__version"].to_pylist()
    assert versions.count(1) == 30 and versions.count(2) == 4 + 2  # no label: the latest
    assert log.table["x5"].to_pylist()[:30] == pytest.approx([r["x5"] for r in data])
    assert 'workbench_label_request_count{model_name="fraud",label="stable",status="OK"} 10' \
        in metrics


def test_records_are_prediction_logs_tf_reads_and_the_index_matches_them(tmp_path):
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    data = rows(200, seed=3)
    logs, prefix = _logged(tmp_path, data, index=True)
    assert len(list(prefix.parent.glob("*.parquet"))) == 1
    files = log_files(prefix)
    assert len(files) == 1 and files[0].name.startswith("fraud-")
    # TensorFlow's own TFRecord reader checks the framing and the CRCs
    records = list(tf.data.TFRecordDataset([str(f) for f in files]).as_numpy_iterator())
    assert len(records) == 100
    first = prediction_log_pb2.PredictionLog.FromString(records[0])
    assert first.log_metadata.model_spec.name == MODEL
    assert first.log_metadata.model_spec.version.value == 1
    assert first.log_metadata.sampling_config.sampling_rate == 1.0
    assert abs(first.log_metadata.timestamp_secs - time.time()) < 120
    req = first.predict_log.request
    assert set(req.inputs) == set(data[0])
    assert tf.make_ndarray(req.inputs["x0"]).tolist() == pytest.approx(
        [data[0]["x0"], data[1]["x0"]])
    assert list(req.inputs["country"].string_val) == [data[0]["country"].encode(),
                                                      data[1]["country"].encode()]
    assert "probabilities" in first.predict_log.response.outputs
    assert logs.metrics.value(REQUEST_LOG_RECORDS, model_name=MODEL) == 100

    indexed = read_request_logs(prefix, model=MODEL)
    for index in prefix.parent.glob("*.parquet"):
        index.unlink()
    decoded = read_request_logs(prefix, model=MODEL)
    assert indexed.rows == decoded.rows == 200 and indexed.records == decoded.records == 100
    for name in ("x0", "x9", "country", "channel"):
        assert indexed.table[name].to_pylist() == decoded.table[name].to_pylist()
    assert decoded.table["x3"].to_pylist() == pytest.approx([r["x3"] for r in data])
    assert set(decoded.features().column_names) == set(data[0])


def test_files_rotate_by_size_and_the_oldest_go_over_the_disk_budget(tmp_path):
    _, prefix = _logged(tmp_path, rows(3000, seed=1), max_file_bytes=40_000,
                        max_total_bytes=150_000)
    files = log_files(prefix)
    total = sum(f.stat().st_size for f in prefix.parent.iterdir())
    assert len(files) >= 3
    assert total <= 150_000 + 40_000 + 20_000  # the budget, plus the file being written
    log = read_request_logs(prefix)
    assert 0 < log.rows < 3000  # the oldest requests were removed, the newest kept
    assert log.table["__timestamp"].to_pylist() == sorted(log.table["__timestamp"].to_pylist())


def test_sampling_rate_logs_that_share_of_requests(tmp_path):
    prefix = tmp_path / "requests" / MODEL
    logs = RequestLogs()
    logs._random = random.Random(7)  # a fixed draw: the count below is exact, not flaky
    logs.configure(_config(prefix, rate=0.25))
    _offer(logs, rows(4000), per_request=1)
    logs.close()
    n = read_request_logs(prefix).rows
    assert 850 < n < 1150, n


def test_a_full_queue_drops_records_instead_of_blocking(tmp_path):
    import threading

    from workbench.serving.metrics import REQUEST_LOG_DROPPED

    prefix = tmp_path / "requests" / MODEL
    logs = RequestLogs(Metrics(), queue_size=5)
    logs.configure(_config(prefix))
    release = threading.Event()
    write = logs._write

    def stalled(entry):  # a disk that does not keep up
        release.wait(30)
        write(entry)

    logs._write = stalled
    started = time.perf_counter()
    _offer(logs, rows(2000), per_request=1)
    elapsed = time.perf_counter() - started
    release.set()
    logs.close()
    assert elapsed < 5.0
    dropped = logs.metrics.value(REQUEST_LOG_DROPPED, model_name=MODEL)
    assert dropped >= 2000 - 6
    assert read_request_logs(prefix).rows == 2000 - dropped


def test_a_truncated_last_record_is_skipped_and_said(tmp_path):
    _, prefix = _logged(tmp_path, rows(20))
    assert not list(prefix.parent.glob("*.parquet"))  # no index unless asked for
    (path,) = log_files(prefix)
    path.write_bytes(path.read_bytes()[:-30])
    log = read_request_logs(prefix)
    assert log.rows == 18
    assert any("cut short after 9 records" in n for n in log.notes), log.notes


def test_empty_folders_and_logs_of_another_model_are_refused_with_a_reason(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no request log files"):
        read_request_logs(tmp_path / "empty")
    prefix = tmp_path / "requests" / "churn"
    logs = RequestLogs()
    logs.configure(_config(prefix, model="churn"))
    _offer(logs, rows(10), model="churn")
    logs.close()
    with pytest.raises(DataError, match="hold no requests of model 'fraud'"):
        read_request_logs(prefix.parent, model=MODEL)


# -- skew on the logs ------------------------------------------------------------------------

def _training_run(project: Path, data: list[dict]) -> str:
    """A run whose 01_data_validation holds the training statistics and schema of ``data``."""
    import pyarrow as pa
    from tensorflow_metadata.proto.v0 import schema_pb2

    from workbench.data.schema import infer_schema
    from workbench.data.stats import compute_statistics
    from workbench.runs.step import Step
    from workbench.runs.store import RunStore

    run = RunStore(project / "runs").create(state="succeeded")
    step = Step(run, "01_data_validation", "compute")
    table = pa.table({k: [r[k] for r in data] for k in data[0]})
    stats = compute_statistics(table)
    schema = infer_schema(stats, drift_threshold=0.1, skew_threshold=0.1)
    assert isinstance(schema, schema_pb2.Schema)
    step.save("stats_train", stats, kind="proto")
    step.save("schema", schema, kind="pbtxt")
    step.finish()
    return run.id


def _shifted(data: list[dict], by: float) -> list[dict]:
    return [{**r, "x0": r["x0"] + by} for r in data]


@pytest.mark.slow
def test_monitor_finds_the_injected_skew_and_drift_and_exits_3(project):
    from workbench.serving.monitor import enable_logging, log_prefix, monitor
    from workbench.serving.repository import Repository

    run_id = _training_run(project, rows(3000, seed=0))
    repo = Repository(project / "serving")
    repo.init()
    (repo.base_path(MODEL) / "1").mkdir(parents=True)
    cfg = repo.read_config()
    cfg.model_config_list.config.add().CopyFrom(model_config(MODEL, str(repo.base_path(MODEL))))
    repo.write_config(cfg)
    enable_logging(repo, MODEL, sampling_rate=1.0)
    # two periods of traffic: yesterday like training, today with x0 moved by 3 sd and a
    # country the model never saw
    now = time.time()
    logs = RequestLogs()
    logs.configure(repo.read_config())
    _offer(logs, rows(1500, seed=5), timestamp=now - 86400 - 60)
    today = _shifted(rows(1500, seed=6), 3.0)
    today[0]["country"] = "zz"
    _offer(logs, today, timestamp=now - 60)
    logs.close()

    report = monitor(repo, MODEL, run=run_id, since=now - 86400)
    assert report.logs.rows == 1500 and report.previous_rows == 1500
    skew = {c.feature: c for c in report.comparisons if c.kind == "skew"}
    drift = {c.feature: c for c in report.comparisons if c.kind == "drift"}
    assert skew["x0"].exceeded and drift["x0"].exceeded
    assert not any(skew[k].exceeded for k in NUMERIC[1:]), \
        [k for k in NUMERIC[1:] if skew[k].exceeded]
    sentences = [f.sentence() for f in report.errors]
    assert any("x0" in s and "skew against the request logs of fraud" in s
               for s in sentences), sentences
    assert any("zz" in s for s in sentences), sentences  # stage 01's unseen-value anomaly
    assert not report.passed
    gauges = (repo.root / "monitoring" / "fraud.prom").read_text()
    assert 'workbench_feature_skew{model_name="fraud",feature="x0",' \
           'metric="JENSEN_SHANNON_DIVERGENCE"}' in gauges
    assert 'workbench_feature_skew_threshold{model_name="fraud",feature="x0"' in gauges
    assert log_prefix(repo, MODEL).parent.is_dir()

    out = run_workbench("monitor", "--model", MODEL, "--run", run_id, "--since", "24h",
                        "--repository", str(repo.root), cwd=project)
    assert out.code == 3, out.text
    assert "x0" in out.err and "skew against the request logs" in out.err
    assert "1,500 logged instances" in out.out

    # yesterday alone is like training: nothing to report, exit 0
    out = run_workbench("monitor", "--model", MODEL, "--run", run_id, "--until",
                        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - 3600)),
                        "--repository", str(repo.root), cwd=project)
    assert out.code == 0, out.text
    assert "no error-level anomaly" in out.out
    assert set(COUNTRIES) >= {r["country"] for r in rows(100)}


def test_the_direct_encoding_is_the_protobuf_message():
    from tensorflow_serving.apis import prediction_log_pb2

    from workbench.serving.requestlog import _Entry, encode_predict_log, prediction_log

    cols = columns(rows(3, seed=2))
    cols["x1"] = cols["x1"].reshape(3, 1)
    outputs = {"probabilities": np.full((3, 1), 0.3, dtype=np.float32),
               "class_ids": np.zeros((3, 1), dtype=np.int64)}
    entry = _Entry("predict", MODEL, 7, "serving_default", cols, outputs, 3, 1_750_000_000.5)
    fast = prediction_log_pb2.PredictionLog.FromString(encode_predict_log(entry, 0.5))
    assert fast == prediction_log(entry, 0.5)


def test_the_record_bytes_stay_what_the_server_wrote_before():
    """The per-shape encoder writes the very bytes of the earlier per-field encoder (digests
    taken from it): numeric and string tensors, [n] and [n, 1], long keys and strings (2-byte
    lengths), an empty tensor, a dtype written through tensor_proto (uint8)."""
    import hashlib

    from workbench.serving.requestlog import _Entry, encode_predict_log

    cols = columns(rows(3, seed=2))
    cols["x1"] = cols["x1"].reshape(3, 1)
    out = {"probabilities": np.full((3, 1), 0.3, dtype=np.float32),
           "class_ids": np.zeros((3, 1), dtype=np.int64)}
    big = {"s": np.array([b"x" * 300, "ü".encode()], dtype=object),
           "d": np.arange(200, dtype=np.float64).reshape(2, 100),
           "i": np.array([1, 2], np.int32), "b": np.array([True, False]),
           "e": np.zeros((0,), np.float32)}
    entries = [
        _Entry("predict", MODEL, 7, "serving_default", cols, out, 3, 1_750_000_000.5),
        _Entry("predict", MODEL, 1, "serving_default", columns(rows(1, seed=4)),
               {"probabilities": np.array([[0.1, 0.9]], np.float32)}, 1, 1_750_000_123.0),
        _Entry("predict", "m" * 200, 300, "sig", big,
               {"o": np.arange(2, dtype=np.int64), "u": np.array([1, 2], np.uint8)}, 2, 1_000),
    ]
    assert [hashlib.sha256(encode_predict_log(e, 0.25)).hexdigest() for e in entries] == [
        "3ea3a91a81d3f50fc5cfc216bab16fc58719d5b6e0f2a0a5594ded6b2fec2049",
        "5ce26478aeadd277b71ee8d10099c0784fc9198cecf59d2e24f28718eb15ee63",
        "eff6b2e38ff793eefb16671ff2fa4b58d5732cd00aa684d4d64b801726427315",
    ]


def test_monitor_says_what_stage_01_says_of_bad_log_folders(project):
    """An empty folder, logs of another model and a record cut short: the command's messages
    are the reader's, which stage 01 shows too (tests/data/test_stage.py)."""
    from workbench.serving.repository import Repository

    run_id = _training_run(project, rows(300, seed=0))
    repo = Repository(project / "serving")
    repo.init()
    cfg = repo.read_config()
    cfg.model_config_list.config.add().CopyFrom(model_config(MODEL, str(repo.base_path(MODEL))))
    repo.write_config(cfg)
    (project / "empty").mkdir()
    churn = project / "churn-logs" / "churn"
    logs = RequestLogs()
    logs.configure(_config(churn, model="churn"))
    _offer(logs, rows(10), model="churn")
    logs.close()
    _, prefix = _logged(project, rows(20))
    for index in prefix.parent.glob("*.parquet"):
        index.unlink()
    (path,) = log_files(prefix)
    path.write_bytes(path.read_bytes()[:-30])

    def monitor(logs_dir: Path):
        return run_workbench("monitor", "--model", MODEL, "--run", run_id, "--repository",
                             str(repo.root), "--logs", str(logs_dir), "--json", cwd=project)

    out = monitor(project / "empty")
    assert out.code == 1 and f"no request log files under {project / 'empty'}" in out.err
    out = monitor(churn.parent)
    assert out.code == 1, out.text
    assert "hold no requests of model 'fraud'; they are of model 'churn', not of 'fraud'" in out.err and "--model churn" in out.err
    out = monitor(prefix.parent)
    assert out.code in (0, 3), out.text
    import json

    report = json.loads(out.out)
    assert report["instances"] == 18 and report["skipped_records"] == 1
    assert any("cut short after 9 records" in n for n in report["notes"]), report["notes"]


def test_an_index_built_over_many_drains_matches_the_records(tmp_path):
    """Each drain's requests become one table of the index (their arrays are let go): drains
    of different batch sizes and layouts concatenate to what decoding the records gives."""
    prefix = tmp_path / "requests" / MODEL
    logs = RequestLogs(Metrics(), drain_seconds=0.01, index=True)
    logs.configure(_config(prefix))
    data = rows(60, seed=5)
    for i, size in enumerate((1, 3, 2, 4)):
        part, data = data[:size * 5], data[size * 5:]
        for j in range(0, len(part), size):
            cols = columns(part[j:j + size])
            if i == 2:
                cols["x0"] = cols["x0"].reshape(-1, 1)  # [n, 1] in one drain only
            logs.offer("predict", MODEL, 1 + i % 2, "serving_default", cols,
                       {"probabilities": np.zeros((len(part[j:j + size]), 1), np.float32)},
                       len(part[j:j + size]))
        logs.flush()
    logs.close()
    indexed = read_request_logs(prefix, model=MODEL)
    assert list(prefix.parent.glob("*.parquet"))
    for index in prefix.parent.glob("*.parquet"):
        index.unlink()
    decoded = read_request_logs(prefix, model=MODEL)
    assert indexed.rows == decoded.rows == 50
    for name in ("x0", "x5", "country", "__version", "__timestamp"):
        assert indexed.table[name].to_pylist() == decoded.table[name].to_pylist(), name
