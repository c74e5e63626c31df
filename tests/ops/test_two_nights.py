"""The nightly retraining of docs/operations.md, end to end, with the real command and the real
local server (small data, two epochs):

night 1  `workbench run` trains on generated fraud data and deploys version 1 (stable) to the
         local server, left running;
day      request logging is turned on (`workbench monitor enable`) and the next day's traffic
         — generated with the `amount_shift` drift — is replayed through the server's REST API;
         `workbench monitor` finds the skew and exits 3, and the exporter's gauge shows it;
night 2  `workbench run` on the drifted data, with yesterday's request logs as serving data,
         stops at the data-validation gate (exit 3);
all day  version 1 keeps serving and not one request fails (a client keeps asking throughout).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_workbench

pytestmark = pytest.mark.slow

MODEL = "fraud"
ROWS, NIGHT_1_SEED, NIGHT_2_SEED = 3000, 1, 2
PARAMS = {
    "01_data_validation": {"rows": ROWS, "seed": NIGHT_1_SEED},
    "02_train": {"epochs": 2, "batch_size": 64, "hidden_units": [16], "learning_rate": 0.01,
                 "histogram_freq": 0},
    "03_evaluate": {"slices": ["channel"], "bootstrap": 20},
    "04_export": {"warmup_records": 8},
    "05_tflite": {"variants": ["float32"], "representative": 40, "latency_runs": 10},
    "06_serving": {"rest_port": 0, "grpc_port": 0, "parity_rows": 16, "load_seconds": 0,
                   "canary_requests": 20, "stop_server": False},
}


class Traffic:
    """A client asking the server one prediction after another until stopped, counting what
    was answered and what failed: a new connection per request and no retry, so a refused
    connection, a dropped one or any answer but 200 is a failure."""

    def __init__(self, rest, instance: dict) -> None:
        self.url = f"{rest.url}/v1/models/{MODEL}:predict"
        self.instance = instance
        self.answered = 0
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.send([self.instance])
            time.sleep(0.02)

    def send(self, instances: list[dict]) -> None:
        body = json.dumps({"instances": instances}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                answer = json.loads(r.read())
            assert r.status == 200 and len(answer["predictions"]) == len(instances), answer
            self.answered += 1
        except Exception as err:  # noqa: BLE001 - every failure is counted and shown
            self.failed.append(repr(err))

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def test_two_nights_skew_found_gate_stops_version_1_keeps_serving(project: Path):
    from workbench.data.datasets import load_dataset
    from workbench.serving.checks import examples_from_table, signature_inputs
    from workbench.serving.exporter import serve_exporter
    from workbench.serving.process import running, stop
    from workbench.serving.repository import Repository
    from workbench.serving.requestlog import log_files

    (project / "night1.yaml").write_text(yaml.safe_dump(PARAMS))
    night2 = {**PARAMS, "01_data_validation": {
        "rows": ROWS, "seed": NIGHT_2_SEED, "faults": ["amount_shift"],
        "serving_data_path": "serving/requests"},
        "03_evaluate": {**PARAMS["03_evaluate"], "baseline": "stable"}}
    (project / "night2.yaml").write_text(yaml.safe_dump(night2))
    repo = Repository(project / "serving")
    try:
        # night 1: train and deploy version 1
        out = run_workbench("run", "--params", "night1.yaml", cwd=project, timeout=600)
        assert out.code == 0, out.text
        handle = running(repo)
        assert handle is not None, "06_serving left no server running"
        assert repo.labels(MODEL).get("stable") == 1
        rest = handle.rest()
        inputs = signature_inputs(rest, MODEL)

        # day: logging on, the drifted day's traffic replayed through the server
        out = run_workbench("monitor", "enable", "--model", MODEL, cwd=project)
        assert out.code == 0, out.text
        day = load_dataset("fraud", rows=600, seed=NIGHT_2_SEED, faults=["amount_shift"])
        replay = examples_from_table(day, inputs, day.num_rows)
        with Traffic(rest, replay[0]) as traffic:
            deadline = time.monotonic() + 30
            while not log_files(repo.root / "requests") and time.monotonic() < deadline:
                traffic.send(replay[:1])  # until the server's config poll turned logging on
                time.sleep(0.1)
            assert log_files(repo.root / "requests"), "the server logs no requests"
            for i in range(0, len(replay), 10):
                traffic.send(replay[i:i + 10])
            deadline = time.monotonic() + 30  # the writer drains its queue every 0.1 s
            while _logged(repo) < len(replay) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _logged(repo) >= len(replay)

            monitor = run_workbench("monitor", "--model", MODEL, "--since", "24h",
                                    cwd=project)
            assert monitor.code == 3, monitor.text
            assert "amount: skew against the request logs of fraud" in monitor.err
            assert "(version 1)" in monitor.out  # compared with the run that made version 1
            exporter = serve_exporter(repo, rest, port=0)
            try:
                url = f"http://127.0.0.1:{exporter.server_address[1]}/metrics"
                with urllib.request.urlopen(url, timeout=10) as r:
                    metrics = r.read().decode()
            finally:
                exporter.shutdown()
            skew = _gauge(metrics, "workbench_feature_skew", "amount")
            assert skew > _gauge(metrics, "workbench_feature_skew_threshold", "amount"), metrics
            assert f'workbench_monitor_anomalies{{model_name="{MODEL}"}}' in metrics

            # night 2: the drifted data (and the logged traffic) stop the run at 01's gate
            out = run_workbench("run", "--params", "night2.yaml", cwd=project, timeout=600)
            assert out.code == 3, out.text
            assert "gate 'data_validation' of stage 01_data_validation failed" in out.err
            assert "amount: drift against baseline run" in out.err
            assert "amount: skew against the request logs of fraud" in out.err
            traffic.send(replay[:1])

        # version 1 kept serving, and no request failed all along
        assert repo.labels(MODEL) == {"stable": 1} and repo.versions(MODEL) == [1]
        _, version = handle.grpc().predict(MODEL, _columns(replay[:2], inputs))
        assert version == 1
        assert traffic.failed == [], traffic.failed[:5]
        assert traffic.answered > len(replay) // 10
    finally:
        stop(repo)


def _logged(repo) -> int:
    """Instances the server's request logs hold so far (records cut short not counted)."""
    from workbench.data.predictionlog import read_request_logs

    return read_request_logs(repo.root / "requests", model=MODEL).rows


def _gauge(metrics: str, name: str, feature: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(f"{name}{{") and f'feature="{feature}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} for {feature} in:\n{metrics}")


def _columns(instances: list[dict], inputs: dict[str, str]) -> dict:
    import numpy as np

    kinds = {"DT_STRING": object, "DT_INT64": np.int64, "DT_DOUBLE": np.float64}
    return {k: np.array([i[k] for i in instances], dtype=kinds.get(v, np.float32))
            for k, v in inputs.items()}
