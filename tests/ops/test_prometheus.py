"""Monitoring checked against a real Prometheus: the generated config and rules pass promtool,
every alert has unit tests that fire and stay silent, and a live Prometheus scraping the local
server evaluates every expression of the dashboard and the rules to data."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.ops.conftest import PROMTOOL, free_port, needs_prometheus
from workbench.serving.monitoring import (
    ALERTS,
    TOKEN_SECRET,
    MonitoringOptions,
    Target,
    alert_rules,
    dashboard,
    expressions,
    local_targets,
    stack_files,
    write_monitoring,
)

MONITORING = REPO / "docker" / "monitoring"


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60)


def test_committed_monitoring_files_are_the_generator_output():
    for path, text in stack_files().items():
        assert (REPO / "docker" / path).read_text() == text, f"docker/{path} is stale"
    committed = json.loads((REPO / "docker/grafana/dashboards/workbench-serving.json")
                           .read_text())
    assert committed == dashboard()
    assert {p["title"] for p in committed["panels"]} >= {"Requests per second",
                                                         "Latency p50 / p99"}


@needs_prometheus
def test_rules_and_configs_pass_promtool(tmp_path):
    proc = promtool("check", "rules", str(MONITORING / "alerts.yml"))
    assert proc.returncode == 0 and "SUCCESS: 8 rules found" in proc.stdout, proc.stdout + \
        proc.stderr
    # promtool opens the bearer token file: point the dev config at a real one
    token = tmp_path / "serving_token"
    token.write_text("t0ken\n")
    shutil.copy(MONITORING / "alerts.yml", tmp_path / "alerts.yml")
    dev = tmp_path / "prometheus.dev.yml"
    dev.write_text((MONITORING / "prometheus.dev.yml").read_text()
                   .replace(TOKEN_SECRET, str(token)))
    for config in (MONITORING / "prometheus.yml", dev):
        proc = promtool("check", "config", str(config))
        assert proc.returncode == 0, f"{config}: {proc.stdout}{proc.stderr}"
    paths = write_monitoring(tmp_path, local_targets("127.0.0.1:8501", "127.0.0.1:9108"))
    proc = promtool("check", "config", str(paths["prometheus"]))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@needs_prometheus
def test_every_alert_has_unit_tests_that_fire_and_stay_silent():
    tests = yaml.safe_load((MONITORING / "alerts.test.yml").read_text())
    tested = {t["alertname"] for case in tests["tests"] for t in case["alert_rule_test"]}
    assert tested == set(ALERTS)
    for case in tests["tests"]:
        firing = [t for t in case["alert_rule_test"] if t["exp_alerts"]]
        assert firing, f"{case['name']}: no case where the alert fires"
        # silence is shown either by a time with no alert or by a second series that
        # satisfies the inputs without the condition (exp_alerts lists exactly what fires)
        series = {s["series"].split("{")[0] for s in case["input_series"]}
        assert any(not t["exp_alerts"] for t in case["alert_rule_test"]) or \
            len(case["input_series"]) > len(series), case["name"]
    proc = promtool("test", "rules", "alerts.test.yml", cwd=MONITORING)
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout, proc.stdout + proc.stderr


@needs_prometheus
def test_a_broken_rule_file_is_named_with_its_line(tmp_path):
    bad = tmp_path / "alerts.yml"
    text = alert_rules().replace("== 0\n", "== = 0\n", 1)
    bad.write_text(text)
    proc = promtool("check", "rules", str(bad))
    assert proc.returncode != 0
    assert "alerts.yml" in proc.stdout + proc.stderr and "parse error" in \
        (proc.stdout + proc.stderr)


def _load(handle, stop: threading.Event, counts: dict[str, int], *, limit: int = 20_000,
          seconds: float = 120.0) -> None:
    """Light REST traffic to stable and canary (and a few refused requests), bounded in count
    and time, until ``stop`` is set."""
    from tests.serving.demo_model import rows

    rest = handle.rest(timeout=10)
    body = rows(2)
    deadline = time.monotonic() + seconds
    i = 0
    while not stop.is_set() and i < limit and time.monotonic() < deadline:
        label = "canary" if i % 3 == 0 else "stable"
        rest.predict("fraud", instances=body, label=label)
        counts[label] = counts.get(label, 0) + 1
        if i % 25 == 0:  # an invalid request: a client error, not a server error
            status, _ = rest.request("POST", "/v1/models/fraud/labels/stable:predict",
                                     {"instances": [{"x0": "not a number"}]})
            counts[str(status)] = counts.get(str(status), 0) + 1
        i += 1
        time.sleep(0.01)


@pytest.mark.slow
@needs_prometheus
def test_prometheus_scrapes_the_local_server_and_every_expression_has_data(
        tmp_path, exports, prometheus_factory):
    from tests.serving.conftest import MODEL
    from workbench.serving.control import Controller
    from workbench.serving.exporter import serve_exporter
    from workbench.serving.process import start_local, stop
    from workbench.serving.repository import Repository

    repo = Repository(tmp_path / "serving")
    repo.init()
    ctl = Controller(repo)
    ctl.deploy(MODEL, repo.push(exports[1], MODEL).version, label="stable")
    ctl.deploy(MODEL, repo.push(exports[2], MODEL).version, label="canary")
    # what workbench monitor writes after reading the request logs: one feature over its
    # threshold, one under
    (repo.root / "monitoring").mkdir()
    (repo.root / "monitoring" / "fraud.prom").write_text(
        "# TYPE workbench_feature_skew gauge\n"
        'workbench_feature_skew{model_name="fraud",feature="x0",metric="JENSEN_SHANNON_DIVERGENCE"} 0.4\n'
        'workbench_feature_skew{model_name="fraud",feature="country",metric="L_INFTY"} 0.01\n'
        "# TYPE workbench_feature_skew_threshold gauge\n"
        'workbench_feature_skew_threshold{model_name="fraud",feature="x0",metric="JENSEN_SHANNON_DIVERGENCE"} 0.1\n'
        'workbench_feature_skew_threshold{model_name="fraud",feature="country",metric="L_INFTY"} 0.1\n'
        "# TYPE workbench_feature_drift gauge\n"
        'workbench_feature_drift{model_name="fraud",feature="x0",metric="JENSEN_SHANNON_DIVERGENCE"} 0.02\n'
        "# TYPE workbench_feature_drift_threshold gauge\n"
        'workbench_feature_drift_threshold{model_name="fraud",feature="x0",metric="JENSEN_SHANNON_DIVERGENCE"} 0.1\n')
    handle = start_local(repo, rest_port=0, grpc_port=0, poll_seconds=0.5,
                         config_poll_seconds=0.5)
    exporter = serve_exporter(repo, handle.rest(timeout=5), port=0)
    stop_load = threading.Event()
    counts: dict[str, int] = {}
    load = threading.Thread(target=_load, args=(handle, stop_load, counts), daemon=True)
    try:
        handle.rest().wait_available(MODEL, 2, timeout=120)
        dead = free_port()  # nothing listens there: the ModelServerDown alert must fire
        options = MonitoringOptions(scrape_interval="1s", evaluation_interval="1s", hold="0s",
                                    down_hold="0s", window="30s")
        targets = [*local_targets(f"127.0.0.1:{handle.rest_port}",
                                  f"127.0.0.1:{exporter.server_address[1]}"),
                   Target("tf-serving", f"127.0.0.1:{dead}", "/monitoring/prometheus/metrics")]
        paths = write_monitoring(tmp_path / "monitoring", targets, options=options)
        load.start()
        prom = prometheus_factory(paths["prometheus"])

        def health() -> dict[str, str] | None:
            active = prom.api("targets")["activeTargets"]
            got = {t["labels"]["job"]: t["health"] for t in active}
            return got if got == {"local-server": "up", "workbench": "up",
                                  "tf-serving": "down"} else None

        prom.wait("two targets up and the dead one down", health)

        # the dashboard's expressions use 5m windows, the rules (options) 30s: both must
        # have data once two scrapes with traffic are in
        exprs = {**expressions(), **expressions(options)}
        signals = {k: e for k, e in exprs.items() if not k.startswith("alert ")
                   or k.endswith(" signal")}

        def missing() -> list[str]:
            out = []
            for name, expr in signals.items():
                result = prom.query(expr)
                assert result["resultType"] == "vector", (name, result)
                values = [float(s["value"][1]) for s in result["result"]]
                if not values or any(v != v for v in values):  # no series, or NaN
                    out.append(name)
            return out

        lacking: list[list[str]] = [list(signals)]

        def complete() -> bool:
            lacking[0] = missing()
            return not lacking[0]

        prom.wait(lambda: f"every dashboard and rule expression to have data; without: "
                          f"{lacking[0]}", complete, timeout=120)
        for name, expr in exprs.items():
            assert prom.query(expr)["resultType"] == "vector", name

        def firing() -> set[str] | None:
            alerts = prom.api("alerts")["alerts"]
            names = {a["labels"]["alertname"] for a in alerts if a["state"] == "firing"}
            return names if {"ModelServerDown", "FeatureSkewHigh"} <= names else None

        names = prom.wait("ModelServerDown and FeatureSkewHigh to fire", firing)
        # nothing else is wrong: both versions serve, no server errors, drift under threshold
        assert not names & {"ModelNoAvailableVersion", "ModelHighErrorRate",
                            "CanaryErrorsAboveStable", "FeatureDriftHigh"}, names
        skew = prom.query('ALERTS{alertname="FeatureSkewHigh",alertstate="firing"}')
        assert [s["metric"]["feature"] for s in skew["result"]] == ["x0"]
        down = prom.query('ALERTS{alertname="ModelServerDown",alertstate="firing"}')
        assert [s["metric"]["instance"] for s in down["result"]] == [f"127.0.0.1:{dead}"]
        # TF Serving's names as the local server exports them, as Prometheus stored them
        ok = prom.query('sum(:tensorflow:serving:request_count{model_name="fraud",'
                        'status="OK"})')["result"]
        assert ok and float(ok[0]["value"][1]) > 0
        bad = prom.query(':tensorflow:serving:request_count{status="INVALID_ARGUMENT"}')
        assert bad["result"], "the refused requests are counted under their status"
        available = prom.query('workbench_model_versions_available{model_name="fraud"}')
        assert float(available["result"][0]["value"][1]) == 2
    finally:
        stop_load.set()
        if load.is_alive():
            load.join(30)
        exporter.shutdown()
        stop(repo)
    assert counts.get("stable", 0) > 0 and counts.get("canary", 0) > 0
    assert counts.get("400", 0) > 0


@needs_prometheus
def test_serve_manifests_writes_the_monitoring_files(tmp_path):
    from tests.conftest import run_workbench
    from tests.serving.conftest import placeholder_repository

    repo = placeholder_repository(tmp_path / "serving")
    out = run_workbench("serve", "manifests", "--target", "kubernetes", "--monitoring",
                        "--latency-budget-ms", "250", "--repository", str(repo.root),
                        "--out", str(tmp_path / "deploy"), cwd=tmp_path)
    assert out.code == 0, out.text
    folder = tmp_path / "deploy" / "monitoring"
    config = yaml.safe_load((folder / "prometheus.yml").read_text())
    assert {c["job_name"]: c["static_configs"][0]["targets"] for c in
            config["scrape_configs"]} == {"tf-serving": ["tf-serving-fraud:8501"],
                                          "workbench": ["workbench-exporter:9108"]}
    assert "> 250000" in (folder / "alerts.yml").read_text()
    assert json.loads((folder / "dashboards" / "workbench-serving.json").read_text())["panels"]
    proc = promtool("check", "config", str(folder / "prometheus.yml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
