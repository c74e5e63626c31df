"""Monitoring files for a serving stack: the Prometheus config, the alert rules and a Grafana
dashboard, all on TF Serving's metric names (``:tensorflow:serving:request_count``,
``:tensorflow:serving:request_latency``), which the local server exports too.

Series that TF Serving does not export come from the workbench:

* ``workbench_label_request_count`` / ``workbench_label_request_latency`` — requests addressed
  by a version label, from the local server (TF Serving counts per model only, so the canary
  alerts stay silent on the real image: there is no series to compare);
* ``workbench_model_versions_available``, ``workbench_feature_skew`` / ``_drift`` and their
  thresholds — from the workbench exporter (:mod:`workbench.serving.exporter`), which asks the
  model server for its versions at each scrape and serves what ``workbench monitor`` last
  measured on the request logs.

Every expression lives in :data:`ALERTS` / :func:`dashboard`, so a test can evaluate each one
against a real Prometheus (:func:`expressions`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workbench.serving.config import PROMETHEUS_PATH

__all__ = ["ALERTS", "Alert", "MonitoringOptions", "Target", "alert_rules", "dashboard",
           "expressions", "prometheus_config", "write_monitoring"]

REQ = ":tensorflow:serving:request_count"
LAT = ":tensorflow:serving:request_latency"
# statuses that are the server's fault; a client's INVALID_ARGUMENT does not page anyone
SERVER_ERRORS = "INTERNAL|UNKNOWN|UNAVAILABLE|DEADLINE_EXCEEDED|RESOURCE_EXHAUSTED|DATA_LOSS"
SERVING_JOBS = "tf-serving|local-server"


@dataclass(frozen=True)
class MonitoringOptions:
    """Thresholds of the alerts; ``hold`` is how long a condition must last before an alert
    fires (Prometheus' ``for``)."""

    latency_budget_ms: float = 100.0
    error_ratio: float = 0.01
    canary_error_margin: float = 0.02
    canary_latency_factor: float = 1.5
    window: str = "5m"
    hold: str = "5m"
    down_hold: str = "1m"
    scrape_interval: str = "15s"
    evaluation_interval: str = "15s"


@dataclass(frozen=True)
class Alert:
    name: str
    signal: str      # the measured quantity (returns data whenever its inputs exist)
    condition: str   # signal + comparison (returns series only while the alert holds)
    hold: str
    severity: str
    summary: str
    description: str


def _error_ratio(selector: str, window: str, by: str = "model_name") -> str:
    every = f"{REQ}{{{selector.rstrip(',')}}}" if selector else REQ
    return (f'sum by ({by}) (rate({REQ}{{{selector}status=~"{SERVER_ERRORS}"}}[{window}])) '
            f'/ sum by ({by}) (rate({every}[{window}]))')


def _error_ratio_or_zero(window: str) -> str:
    """The server-side error ratio per model, 0 (not "no data") while nothing fails."""
    return (f'({_error_ratio("", window)}) or (sum by (model_name) '
            f'(rate({REQ}[{window}])) * 0)')


def _label_error_ratio(label: str, window: str) -> str:
    c = "workbench_label_request_count"
    return (f'(sum by (model_name) (rate({c}{{label="{label}",status=~"{SERVER_ERRORS}"}}'
            f'[{window}])) or sum by (model_name) (rate({c}{{label="{label}"}}[{window}])) * 0)'
            f' / sum by (model_name) (rate({c}{{label="{label}"}}[{window}]))')


def _p99(metric: str, window: str, by: str, selector: str = "") -> str:
    return (f"histogram_quantile(0.99, sum by ({by}, le) "
            f"(rate({metric}_bucket{selector}[{window}])))")


def alerts(o: MonitoringOptions | None = None) -> list[Alert]:
    o = o or MonitoringOptions()
    w = o.window
    budget_us = o.latency_budget_ms * 1000
    error_ratio = _error_ratio_or_zero(w)
    lab = "workbench_label_request_latency"
    canary_p99 = _p99(lab, w, "model_name", '{label="canary"}')
    stable_p99 = _p99(lab, w, "model_name", '{label="stable"}')
    return [
        Alert("ModelServerDown", f'up{{job=~"{SERVING_JOBS}"}}',
              f'up{{job=~"{SERVING_JOBS}"}} == 0', o.down_hold, "page",
              "model server {{ $labels.instance }} does not answer scrapes",
              "Prometheus cannot scrape {{ $labels.instance }} (job {{ $labels.job }}): the "
              "server is down or unreachable, so no prediction is being answered there."),
        Alert("ModelNoAvailableVersion", "workbench_model_versions_available",
              "workbench_model_versions_available == 0", o.down_hold, "page",
              "model {{ $labels.model_name }} has no AVAILABLE version",
              "The model server reports no AVAILABLE version of {{ $labels.model_name }}: "
              "every request to it fails. Run: workbench serve status"),
        Alert("ModelHighErrorRate", error_ratio, f"({error_ratio}) > {o.error_ratio:g}", o.hold,
              "page", "{{ $labels.model_name }}: {{ $value | humanizePercentage }} of "
              "requests fail",
              f"More than {o.error_ratio:.0%} of the requests to {{{{ $labels.model_name }}}} "
              f"failed on the server side ({SERVER_ERRORS.replace('|', ', ')}) over {w}."),
        Alert("ModelHighP99Latency", _p99(LAT, w, "model_name"),
              f"{_p99(LAT, w, 'model_name')} > {budget_us:g}", o.hold, "ticket",
              "{{ $labels.model_name }}: p99 latency over the budget",
              f"The 99th percentile of request latency of {{{{ $labels.model_name }}}} is "
              f"{{{{ $value | humanize }}}} µs, above the budget of {o.latency_budget_ms:g} ms."),
        Alert("CanaryErrorsAboveStable", _label_error_ratio("canary", w),
              f"({_label_error_ratio('canary', w)}) > ({_label_error_ratio('stable', w)}) + "
              f"{o.canary_error_margin:g}", o.hold, "ticket",
              "{{ $labels.model_name }}: the canary fails more requests than stable",
              "The canary version's server-side error ratio is more than "
              f"{o.canary_error_margin:.0%} above stable's. Roll it back: "
              "workbench serve rollback --model {{ $labels.model_name }}"),
        Alert("CanarySlowerThanStable", canary_p99,
              f"({canary_p99}) > {o.canary_latency_factor:g} * ({stable_p99})", o.hold,
              "ticket",
              "{{ $labels.model_name }}: the canary is slower than stable",
              f"The canary's p99 latency is more than {o.canary_latency_factor:g} times "
              "stable's. Roll it back: workbench serve rollback --model "
              "{{ $labels.model_name }}"),
        Alert("FeatureSkewHigh", "workbench_feature_skew",
              "workbench_feature_skew > workbench_feature_skew_threshold", "0s", "ticket",
              "{{ $labels.model_name }}: serving data of {{ $labels.feature }} differs from "
              "training",
              "Training/serving skew of feature {{ $labels.feature }} ({{ $labels.metric }}) "
              "is {{ $value }}, above its threshold in the schema, measured by workbench "
              "monitor on the request logs. Run: workbench monitor --model "
              "{{ $labels.model_name }}"),
        Alert("FeatureDriftHigh", "workbench_feature_drift",
              "workbench_feature_drift > workbench_feature_drift_threshold", "0s", "ticket",
              "{{ $labels.model_name }}: {{ $labels.feature }} drifted since the previous "
              "period",
              "Drift of feature {{ $labels.feature }} ({{ $labels.metric }}) between the "
              "last two periods of request logs is {{ $value }}, above its threshold."),
    ]


ALERTS = [a.name for a in alerts()]


def alert_rules(options: MonitoringOptions | None = None) -> str:
    """The alert rules file (Prometheus rule groups, YAML)."""
    rules = [{"alert": a.name, "expr": a.condition, "for": a.hold,
              "labels": {"severity": a.severity},
              "annotations": {"summary": a.summary, "description": a.description}}
             for a in alerts(options)]
    header = ("# Alert rules of a workbench serving stack (generated by "
              "workbench.serving.monitoring.alert_rules).\n")
    return header + yaml.safe_dump({"groups": [{"name": "workbench-serving", "rules": rules}]},
                                   sort_keys=False, width=1000, allow_unicode=True)


@dataclass(frozen=True)
class Target:
    job: str
    address: str  # host:port
    metrics_path: str = "/metrics"
    token_file: str = ""


def prometheus_config(targets: Iterable[Target], *, rule_files: Iterable[str] = ("alerts.yml",),
                      options: MonitoringOptions | None = None) -> str:
    o = options or MonitoringOptions()
    jobs: dict[str, dict[str, Any]] = {}
    for t in targets:
        job = jobs.setdefault(t.job, {"job_name": t.job, "metrics_path": t.metrics_path,
                                      "static_configs": [{"targets": []}]})
        if t.token_file:
            job["authorization"] = {"type": "Bearer", "credentials_file": t.token_file}
        job["static_configs"][0]["targets"].append(t.address)
    doc = {"global": {"scrape_interval": o.scrape_interval,
                      "evaluation_interval": o.evaluation_interval},
           "rule_files": list(rule_files),
           "scrape_configs": list(jobs.values())}
    header = ("# Prometheus for a workbench serving stack (generated by "
              "workbench.serving.monitoring.prometheus_config).\n")
    return header + yaml.safe_dump(doc, sort_keys=False, width=200)


def _panel(pid: int, title: str, exprs: list[tuple[str, str]], unit: str, x: int, y: int,
           description: str) -> dict[str, Any]:
    return {"id": pid, "type": "timeseries", "title": title, "description": description,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
            "targets": [{"refId": chr(ord("A") + i), "expr": e, "legendFormat": legend,
                         "datasource": {"type": "prometheus", "uid": "${datasource}"}}
                        for i, (e, legend) in enumerate(exprs)]}


def dashboard(options: MonitoringOptions | None = None) -> dict[str, Any]:
    """A Grafana dashboard (JSON model, schema 39) over TF Serving's metric names."""
    o = options or MonitoringOptions()
    w = "5m"
    panels = [
        _panel(1, "Requests per second", [
            (f"sum by (model_name, status) (rate({REQ}[{w}]))", "{{model_name}} {{status}}")],
            "reqps", 0, 0, "TF Serving's request_count, by model and status."),
        _panel(2, "Server-side error ratio", [(_error_ratio_or_zero(w), "{{model_name}}")],
               "percentunit", 12, 0, f"Requests ending in {SERVER_ERRORS}."),
        _panel(3, "Latency p50 / p99", [
            (f"histogram_quantile(0.5, sum by (model_name, le) (rate({LAT}_bucket[{w}])))",
             "p50 {{model_name}}"),
            (_p99(LAT, w, "model_name"), "p99 {{model_name}}")],
            "µs", 0, 8, f"Request latency; the alert budget is {o.latency_budget_ms:g} ms."),
        _panel(4, "Latency by API and entrypoint (p99)", [
            (_p99(LAT, w, "model_name, API, entrypoint"),
             "{{model_name}} {{API}} {{entrypoint}}")],
            "µs", 12, 8, "REST and gRPC, predict / classify / regress."),
        _panel(5, "Stable and canary", [
            ("sum by (model_name, label) (rate(workbench_label_request_count[5m]))",
             "{{model_name}} {{label}}"),
            (_p99("workbench_label_request_latency", w, "model_name, label"),
             "p99 {{model_name}} {{label}}")],
            "short", 0, 16, "Requests addressed by label (local server only: TF Serving does "
                            "not count per version)."),
        _panel(6, "Available versions", [
            ("workbench_model_versions_available", "{{model_name}}")],
            "short", 12, 16, "AVAILABLE versions per model, from the workbench exporter."),
        _panel(7, "Training/serving skew per feature", [
            ("workbench_feature_skew", "{{model_name}} {{feature}} {{metric}}"),
            ("workbench_feature_skew_threshold", "threshold {{feature}}")],
            "short", 0, 24, "From workbench monitor on the request logs."),
        _panel(8, "Drift per feature (previous period)", [
            ("workbench_feature_drift", "{{model_name}} {{feature}} {{metric}}")],
            "short", 12, 24, "From workbench monitor on the request logs."),
        _panel(9, "Batch size (p50)", [
            ("histogram_quantile(0.5, sum by (le) (rate("
             ":tensorflow:serving:batching_session:processed_batch_size_bucket[5m])))",
             "p50 batch size")],
            "short", 0, 32, "Sizes of the batches the batching scheduler ran."),
        _panel(10, "Scrape targets up", [(f'up{{job=~"{SERVING_JOBS}|workbench"}}',
                                          "{{job}} {{instance}}")],
               "short", 12, 32, "1 while Prometheus reaches the target."),
    ]
    return {
        "uid": "workbench-serving", "title": "Workbench serving (TF Serving metrics)",
        "tags": ["tf-workbench", "tensorflow-serving"], "timezone": "browser",
        "schemaVersion": 39, "version": 1, "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "type": "datasource",
                                 "query": "prometheus", "label": "Prometheus"}]},
        "panels": panels,
    }


def expressions(options: MonitoringOptions | None = None) -> dict[str, str]:
    """Every PromQL expression of the dashboard and the rules, by a readable name."""
    out = {}
    for p in dashboard(options)["panels"]:
        for t in p["targets"]:
            out[f"panel '{p['title']}' {t['refId']}"] = t["expr"]
    for a in alerts(options):
        out[f"alert {a.name} signal"] = a.signal
        out[f"alert {a.name}"] = a.condition
    return out


def write_monitoring(folder: str | Path, targets: Iterable[Target], *,
                     options: MonitoringOptions | None = None) -> dict[str, Path]:
    """Write ``prometheus.yml``, ``alerts.yml`` and ``dashboards/workbench-serving.json``."""
    from workbench.runs.atomic import atomic_write_text

    folder = Path(folder)
    out = {"prometheus": folder / "prometheus.yml", "rules": folder / "alerts.yml",
           "dashboard": folder / "dashboards" / "workbench-serving.json"}
    out["dashboard"].parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out["prometheus"], prometheus_config(targets, options=options))
    atomic_write_text(out["rules"], alert_rules(options))
    atomic_write_text(out["dashboard"], json.dumps(dashboard(options), indent=1) + "\n")
    return out


def local_targets(rest_address: str, exporter_address: str = "",
                  token_file: str = "") -> list[Target]:
    """Scrape targets of a local server (its REST address) and the workbench exporter."""
    out = [Target("local-server", rest_address, PROMETHEUS_PATH, token_file)]
    if exporter_address:
        out.append(Target("workbench", exporter_address))
    return out


# -- the files of docker/ ----------------------------------------------------------------------

TOKEN_SECRET = "/run/secrets/serving_token"


def stack_files(options: MonitoringOptions | None = None) -> dict[str, str]:
    """The monitoring files of ``docker/`` (compose and Kubernetes), by path under it: one
    Prometheus config per compose profile — ``prod`` scrapes TF Serving, ``dev`` the local
    server (with its bearer token from the compose secret) — the rules, the dashboard."""
    exporter = Target("workbench", "workbench-exporter:9108")
    prod = prometheus_config([Target("tf-serving", "tf-serving:8501", PROMETHEUS_PATH),
                              exporter], options=options)
    dev = prometheus_config([Target("local-server", "workbench-serving:8501", PROMETHEUS_PATH,
                                    TOKEN_SECRET), exporter], options=options)
    return {"monitoring/prometheus.yml": prod, "monitoring/prometheus.dev.yml": dev,
            "monitoring/alerts.yml": alert_rules(options),
            "grafana/dashboards/workbench-serving.json":
                json.dumps(dashboard(options), indent=1) + "\n"}
