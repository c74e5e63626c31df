"""Training/serving skew and drift measured on what the server actually received.

:func:`monitor` reads a model's request logs (:mod:`workbench.serving.requestlog`) for a period,
computes their statistics with stage 01's code (:func:`workbench.data.stats.compute_statistics`)
and validates them with stage 01's validation (:func:`workbench.data.validate.validate_statistics`):

* the schema checks of the serving data (environment ``SERVING``): unseen categories,
  out-of-range values, missing features — with the same messages as stage 01;
* skew: the training statistics of the run that produced the served version against the logged
  requests (each feature's ``skew_comparator`` in the schema);
* drift: the previous period of logs against this one (``drift_comparator``).

The latest scores are written as Prometheus gauges (``<repository>/monitoring/<model>.prom``,
served by the workbench exporter) so the ``FeatureSkewHigh`` / ``FeatureDriftHigh`` alerts fire.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from workbench.errors import ConfigError
from workbench.serving.repository import Repository
from workbench.serving.requestlog import RequestLog, logging_config, read_request_logs

__all__ = ["MonitorReport", "enable_logging", "log_prefix", "monitor", "training_reference"]

log = logging.getLogger(__name__)

METADATA_FILE = "assets.extra/workbench_metadata.json"
EVIDENCE_ROWS = 2_000_000  # up to this many logged instances, messages count exact rows


def log_prefix(repo: Repository, model: str) -> Path:
    return repo.root / "requests" / model


def enable_logging(repo: Repository, model: str, *, sampling_rate: float = 1.0,
                   prefix: str | Path | None = None) -> Any:
    """Give ``model`` a ``logging_config`` in ``models.config`` (the server picks it up at
    its next config poll). ``sampling_rate`` 0 turns logging off."""
    config = repo.read_config()
    for cfg in config.model_config_list.config:
        if cfg.name == model:
            if sampling_rate <= 0:
                cfg.ClearField("logging_config")
            else:
                cfg.logging_config.CopyFrom(logging_config(
                    str(prefix or log_prefix(repo, model)), sampling_rate))
            repo.write_config(config)
            return cfg
    raise ConfigError(f"model '{model}' is not in {repo.config_path}",
                      hint=f"models there: {', '.join(repo.model_names()) or 'none'}")


def logging_target(repo: Repository, model: str) -> Path | None:
    for cfg in repo.read_config().model_config_list.config:
        if cfg.name == model and cfg.HasField("logging_config"):
            return Path(cfg.logging_config.log_collector_config.filename_prefix)
    return None


@dataclass
class Reference:
    """The training side: the run whose export is served, its training statistics, schema."""

    run_id: str
    version: int | None
    statistics: statistics_pb2.DatasetFeatureStatisticsList
    schema: schema_pb2.Schema


def training_reference(repo: Repository, model: str, run: str | None = None) -> Reference:
    """The training statistics and schema of ``run``, else of the run that exported the
    version labelled ``stable`` (else the newest served version)."""
    from workbench.data.baseline import Baseline
    from workbench.project import Project

    version = None
    if run is None:
        labels = repo.labels(model)
        versions = repo.versions(model)
        version = labels.get("stable") or (versions[-1] if versions else None)
        if version is None:
            raise ConfigError(f"model '{model}' has no version in {repo.root}",
                              hint="push one (workbench serve push RUN) or name --run")
        meta_path = repo.version_dir(model, version) / METADATA_FILE
        try:
            run = json.loads(meta_path.read_text(encoding="utf-8"))["run_id"]
        except (OSError, ValueError, KeyError) as err:
            raise ConfigError(f"version {version} of '{model}' does not say which run "
                              f"exported it ({meta_path})",
                              hint="name the run with --run RUN") from err
    handle = Project.find().store().open(str(run))
    base = Baseline(handle, "gate_passed")
    schema = base.schema()
    if schema is None:
        raise ConfigError(f"run {handle.id} has no schema from 01_data_validation",
                          hint="name a run that ran stage 01 with --run")
    return Reference(handle.id, version, base.statistics("stats_train"), schema)


@dataclass
class MonitorReport:
    model: str
    reference: Reference
    period: tuple[float | None, float | None]
    logs: RequestLog
    previous_rows: int
    findings: list[Any] = field(default_factory=list)
    comparisons: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Any]:
        return [f for f in self.findings if f.severity == "ERROR"]

    @property
    def passed(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "run": self.reference.run_id,
                "version": self.reference.version, "instances": self.logs.rows,
                "records": self.logs.records, "skipped_records": self.logs.skipped,
                "previous_instances": self.previous_rows,
                "passed": self.passed,
                "findings": [{"feature": f.feature, "type": f.type, "severity": f.severity,
                              "sentence": f.sentence()} for f in self.findings],
                "comparisons": [{"feature": c.feature, "kind": c.kind, "metric": c.metric,
                                 "value": c.value, "threshold": c.threshold,
                                 "exceeded": c.exceeded} for c in self.comparisons],
                "notes": self.notes}


def monitor(repo: Repository, model: str, *, run: str | None = None,
            since: float | None = None, until: float | None = None,
            logs: str | Path | None = None, write_gauges: bool = True) -> MonitorReport:
    """Skew and drift of the logged requests of ``model`` in [since, until)."""
    from workbench.data.schema import for_requests
    from workbench.data.stats import compute_statistics
    from workbench.data.validate import validate_statistics

    where = Path(logs) if logs else logging_target(repo, model) or log_prefix(repo, model)
    reference = training_reference(repo, model, run)
    now = read_request_logs(where, model=model, since=since, until=until)
    # the model's inputs in its signature's dtypes, checked as the data they came from
    table, schema = for_requests(now.features(), reference.schema)
    stats = compute_statistics(table)
    previous = None
    previous_rows = 0
    notes = list(now.notes)
    if since is not None:
        span = (until or time.time()) - since
        try:
            before = read_request_logs(where, model=model, since=since - span, until=since)
            previous = compute_statistics(for_requests(before.features(), schema)[0])
            previous_rows = before.rows
        except Exception as err:  # noqa: BLE001 - DataError: no earlier period; say so
            notes.append("no drift measured: nothing to compare with in the period before "
                         f"({getattr(err, 'message', err)})")
    source = f"the request logs of {model}"
    serving = validate_statistics(
        stats, schema, environment="SERVING",
        source=source, data=table if table.num_rows <= EVIDENCE_ROWS else None,
        label="serving",
        previous=previous, previous_name="the previous period")
    skew = validate_statistics(
        reference.statistics, reference.schema, serving=stats,
        serving_name=f"the request logs of {model}", label="training")
    logged = set(table.column_names)
    findings = list(serving.findings)
    findings += [f for f in skew.findings if f.type.startswith("COMPARATOR")
                 and f.feature in logged]
    comparisons = [c for c in (*serving.comparisons, *skew.comparisons) if c.feature in logged]
    report = MonitorReport(model, reference, (since, until), now, previous_rows, findings,
                           comparisons, notes)
    if write_gauges:
        write_gauge_file(repo, report)
    return report


def gauges_text(report: MonitorReport) -> str:
    """The report as Prometheus text exposition (gauges)."""
    m = report.model
    lines = []
    for kind in ("skew", "drift"):
        name = f"workbench_feature_{kind}"
        lines += [f"# HELP {name} Latest {kind} score per feature, from workbench monitor.",
                  f"# TYPE {name} gauge",
                  f"# HELP {name}_threshold The schema's {kind} threshold per feature.",
                  f"# TYPE {name}_threshold gauge"]
        for c in report.comparisons:
            if c.kind != kind:
                continue
            labels = f'model_name="{m}",feature="{c.feature}",metric="{c.metric}"'
            lines.append(f"{name}{{{labels}}} {c.value!r}")
            lines.append(f"{name}_threshold{{{labels}}} {c.threshold!r}")
    lines += ["# HELP workbench_monitor_anomalies Error-level anomalies found by the last "
              "workbench monitor.", "# TYPE workbench_monitor_anomalies gauge",
              f'workbench_monitor_anomalies{{model_name="{m}"}} {len(report.errors)}',
              "# HELP workbench_monitor_instances Logged instances the last monitor read.",
              "# TYPE workbench_monitor_instances gauge",
              f'workbench_monitor_instances{{model_name="{m}"}} {report.logs.rows}',
              "# HELP workbench_monitor_last_run_timestamp_seconds When monitor last ran.",
              "# TYPE workbench_monitor_last_run_timestamp_seconds gauge",
              f'workbench_monitor_last_run_timestamp_seconds{{model_name="{m}"}} '
              f"{int(time.time())}"]
    return "\n".join(lines) + "\n"


def gauge_dir(repo: Repository) -> Path:
    return repo.root / "monitoring"


def write_gauge_file(repo: Repository, report: MonitorReport) -> Path:
    from workbench.runs.atomic import atomic_write_text

    path = gauge_dir(repo) / f"{report.model}.prom"
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, gauges_text(report))
