"""Stage 01: ingest the data, compute its statistics, choose the schema, validate, gate.

The notebook calls :func:`ingest` and then :func:`validate`; in view mode the same calls load
what the step wrote, so the notebook has one code path for computing and for showing.

Artifacts (docs/stages.md): ``train``, ``eval``, ``data_card`` from ingest; ``stats_train``,
``stats_eval`` (``DatasetFeatureStatisticsList``), ``schema`` (the reference the data was
validated against) and ``schema_inferred`` (a proposal), ``anomalies`` (``Anomalies``),
``anomalies_table`` and ``drift`` (JSON) from validation, plus ``stats_serving`` and
``anomalies_serving`` when serving data is given. Gate: ``data_validation``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from workbench.data.baseline import Baseline, choose_schema, find_baseline
from workbench.data.datasets import dataset_info, load_dataset
from workbench.data.intake import infer_task, read_source, run_intake, split, timestamps_as_seconds
from workbench.data.params import DataValidationParams
from workbench.data.schema import SERVING, TRAINING, for_requests, infer_schema
from workbench.data.stats import (
    StatisticsAccumulator,
    StatsOptions,
    accumulate_statistics,
    top_slices,
)
from workbench.data.validate import ValidationReport, validate_statistics
from workbench.errors import DataError, ParameterError, WorkbenchError
from workbench.runs.step import Step

__all__ = ["GATE", "DataValidationParams", "IngestResult", "ValidationResult", "infer_task",
           "ingest", "validate"]

log = logging.getLogger(__name__)

GATE = "data_validation"
MAX_GATE_REASONS = 25

_LIST = statistics_pb2.DatasetFeatureStatisticsList


@dataclass
class IngestResult:
    card: dict[str, Any]
    train: pa.Table | None = None
    eval: pa.Table | None = None
    table: pa.Table | None = None  # all ingested rows (compute mode)
    dataset: str | None = None  # the bundled dataset, when one was used
    files: dict[str, Path] = field(default_factory=dict)  # the split artifacts (compute mode)
    #: train, eval and all rows' statistics, when the splits were made on Beam's workers
    statistics: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return self.card["label"]

    @property
    def task(self) -> str:
        return self.card["task"]


def _resolve(path: str, project_root: Path | None) -> Path:
    p = Path(path)
    if p.is_absolute():
        return p
    from workbench.project import Project

    return (project_root or Project.find().root) / p


def apply_filter(table: pa.Table, row_filter: str, source: str, *,
                 allow_empty: bool = False) -> pa.Table:
    """Keep the rows where the SQL condition ``row_filter`` holds (e.g. ``amount > 0``);
    ``allow_empty``: a part of the data may lose every row."""
    if not row_filter.strip():
        return table
    import polars as pl

    try:
        kept = pl.from_arrow(table).filter(pl.sql_expr(row_filter)).to_arrow()
    except (pl.exceptions.PolarsError, ValueError) as err:
        raise DataError(f"row_filter '{row_filter}' cannot be applied to {source}: "
                        f"{str(err).splitlines()[0]}",
                        hint="write a SQL condition over the columns, e.g. "
                        "\"amount > 0 AND country = 'DE'\"; columns: "
                        f"{', '.join(table.column_names)}") from err
    if kept.num_rows == 0 and not allow_empty:
        raise DataError(f"row_filter '{row_filter}' leaves 0 of {table.num_rows:,} rows of "
                        f"{source}", hint="loosen the filter or check its values (text is "
                        "compared case-sensitively)", file=source)
    return kept.cast(table.schema) if kept.schema != table.schema else kept


def ingest(step: Step, params: DataValidationParams | None = None, *,
           project_root: Path | None = None) -> IngestResult:
    """Read (or generate) the data, name and type its columns, find their roles and the
    label, filter, split, and record both splits and the data card (see
    :mod:`workbench.data.intake`)."""
    if not step.computing:
        card = step.load("data_card")
        return IngestResult(card, dataset=card.get("dataset"))
    p = params or DataValidationParams()
    if p.engine == "beam" and p.splits == "shards":
        from workbench.data.beam_split import ingest_shards

        return ingest_shards(step, p, _resolve(p.data_path, project_root))
    if p.data_path:
        got = run_intake(p, path=_resolve(p.data_path, project_root))
    else:
        info = dataset_info(p.dataset)
        table = load_dataset(p.dataset, rows=p.rows, seed=p.seed, faults=p.faults,
                             fault_fraction=p.fault_fraction)
        got = run_intake(p, table=table, dataset=p.dataset, label=p.label or info.label,
                         key=info.key or "", task=info.task)
    ignored = got.roles.of("ignore")
    if ignored:
        got.table = got.table.drop_columns(ignored)
    got.table = apply_filter(got.table, p.row_filter, got.source)
    train, evals = split(got, p)
    card = got.card(train, evals, p)
    files = {"train": step.save("train", train, rows=train.num_rows).path,
             "eval": step.save("eval", evals, rows=evals.num_rows).path}
    step.save("data_card", card)
    step.log_metrics(rows=got.table.num_rows, rows_train=train.num_rows,
                     rows_eval=evals.num_rows, columns_dropped=len(card["dropped_columns"]))
    return IngestResult(card, train, evals, got.table, got.dataset, files)


# -- validation --------------------------------------------------------------------------------

@dataclass
class ValidationResult:
    """Everything the stage's views show; the same in compute and view mode."""

    stats_train: statistics_pb2.DatasetFeatureStatisticsList
    stats_eval: statistics_pb2.DatasetFeatureStatisticsList
    schema: schema_pb2.Schema
    schema_inferred: schema_pb2.Schema
    anomalies: anomalies_pb2.Anomalies
    table: list[dict[str, Any]]
    drift: dict[str, Any]
    gate: dict[str, Any]
    editable: bool = False
    schema_save_path: str | None = None
    stats_serving: statistics_pb2.DatasetFeatureStatisticsList | None = None
    stats_baseline: statistics_pb2.DatasetFeatureStatisticsList | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.gate.get("passed"))

    @property
    def datasets(self) -> dict[str, Any]:
        """The statistics to show side by side: train, eval, baseline and serving if any,
        then the training slices."""
        out: dict[str, Any] = {"train": self.stats_train, "eval": self.stats_eval}
        if self.stats_baseline is not None:
            out["baseline"] = self.stats_baseline
        if self.stats_serving is not None:
            out["serving"] = self.stats_serving
        for ds in list(self.stats_train.datasets)[1:]:
            out[f"train {ds.name}"] = ds
        return out

    @property
    def flagged(self) -> dict[str, str]:
        """Features with anomalies and their worst severity."""
        out: dict[str, str] = {}
        for row in self.table:
            if out.get(row["feature"]) != "ERROR":
                out[row["feature"]] = row["severity"]
        return out


def validate(step: Step, data: IngestResult, params: DataValidationParams | None = None, *,
             progress: Callable[[int, int | None], None] | None = None,
             options: StatsOptions | None = None,
             project_root: Path | None = None) -> ValidationResult:
    """Statistics per split, schema, anomalies, drift and skew; records the gate."""
    if not step.computing:
        return _load(step)
    p = params or DataValidationParams()
    schema_path, serving_data_path = p.schema_path, p.serving_data_path
    if data.table is None or data.statistics is None and (data.train is None
                                                          or data.eval is None):
        raise DataError("validate needs the tables ingest returned in compute mode",
                        hint="call ingest(...) in the same mode first")
    options = options or StatsOptions()
    slice_notes: list[str] = []
    slice_by = _column_named(data.card, p.slice_by, "slice_by")
    if data.statistics is not None:  # made with the splits, on Beam's workers
        stats_train, stats_eval, whole = (data.statistics[k] for k in ("train", "eval", "all"))
    elif p.engine == "beam":
        stats_train, stats_eval, whole = _beam_split_statistics(data, options, slice_by, p)
    else:
        stats_train, stats_eval, whole = _split_statistics(
            data, options, progress, slice_by, p.max_slices, slice_notes)

    inferred = infer_schema(whole, label=data.label, drift_threshold=p.drift_threshold,
                            skew_threshold=p.skew_threshold, infer_ranges=p.infer_ranges)
    baseline = find_baseline(step, label=data.label, dataset=data.dataset,
                             columns={c["name"] for c in data.card.get("columns", [])})
    choice = choose_schema(
        schema_path=_resolve(schema_path, project_root) if schema_path else None,
        dataset=data.dataset, baseline=baseline, inferred=inferred)
    schema = choice.schema
    environment = TRAINING if TRAINING in schema.default_environment else None
    previous = baseline.statistics() if baseline is not None else None
    overrides = {t: "WARNING" for t in p.warning_anomalies}
    stats_serving = serving_report = None
    serving_name = f"serving data {Path(serving_data_path).name}"
    serving_notes: list[str] = []
    if serving_data_path:
        stats_serving, serving_report, serving_name = _validate_serving(
            _resolve(serving_data_path, project_root), schema, options, overrides, p,
            data.card, serving_notes)
    report = validate_statistics(
        whole, schema, environment=environment, data=data.table, source=data.card["source"],
        previous=previous, serving=stats_serving, compared=stats_train.datasets[0],
        previous_name=f"baseline run {baseline.run.id}" if baseline else "the baseline",
        serving_name=serving_name, severity_overrides=overrides)
    if serving_report is not None:
        report.findings += serving_report.findings
    notes = [f"Reference schema: {choice.description}.", *slice_notes, *serving_notes]
    notes.append(f"Drift compared with the baseline {baseline.description}." if baseline else
                 f"No baseline: no other run of this data (label '{data.label}', "
                 f"{'dataset ' + repr(data.dataset) if data.dataset else 'read from a file'}) "
                 "has passed this gate or been blessed yet, so drift was not checked.")
    drift = {
        "baseline": baseline.to_dict() if baseline else None,
        "drift_checked": baseline is not None,
        "skew_checked": bool(serving_data_path),
        "serving_data": serving_data_path or None,
        "schema_source": choice.source,
        "comparisons": [c.row() for c in report.comparisons],
        "notes": notes,
    }
    table = report.table()
    step.save("stats_train", stats_train, kind="proto")
    step.save("stats_eval", stats_eval, kind="proto")
    step.save("schema", schema, kind="pbtxt", source=choice.source)
    step.save("schema_inferred", inferred, kind="pbtxt")
    step.save("anomalies", report.anomalies, kind="proto")
    step.save("anomalies_table", table)
    step.save("drift", drift)
    if stats_serving is not None:
        step.save("stats_serving", stats_serving, kind="proto")
        step.save("anomalies_serving", serving_report.anomalies, kind="proto")
    gate = _record_gate(step, report, baseline)
    return ValidationResult(stats_train, stats_eval, schema, inferred, report.anomalies, table,
                            drift, gate, editable=True,
                            schema_save_path=str(_save_path(schema_path, data, project_root)),
                            stats_serving=stats_serving, stats_baseline=previous, notes=notes)


def _split_statistics(data: IngestResult, options: StatsOptions,
                      progress: Callable[[int, int | None], None] | None, slice_by: str,
                      max_slices: int = 20, notes: list[str] | None = None
                      ) -> tuple[Any, Any, Any]:
    """Statistics of train (with slices) and eval in one pass each, merged for all rows."""
    total = data.train.num_rows + data.eval.num_rows

    def part(offset: int) -> Callable[[int, int | None], None] | None:
        if progress is None:
            return None
        return lambda done, _total: progress(offset + done, total)

    train_acc, slices = accumulate_statistics(data.train, options=options, progress=part(0),
                                              slice_by=slice_by or None, max_slices=max_slices,
                                              notes=notes)
    eval_acc, _ = accumulate_statistics(data.eval, options=options,
                                        progress=part(data.train.num_rows))
    stats_train = train_acc.to_list("train")
    for value, acc in top_slices(slices, max_slices):
        stats_train.datasets.append(acc.to_proto(f"{slice_by}_{value}"))
    whole = StatisticsAccumulator(options).merge(train_acc).merge(eval_acc).to_list("all")
    return stats_train, eval_acc.to_list("eval"), whole


def _beam_split_statistics(data: IngestResult, options: StatsOptions, slice_by: str,
                           p: DataValidationParams) -> tuple[Any, Any, Any]:
    """The statistics :func:`_split_statistics` computes, from a Beam pipeline over the split
    files the ingest wrote (:mod:`workbench.data.beam_stats`)."""
    from workbench.data.beam_stats import beam_split_statistics

    got = beam_split_statistics(data.files, beam_options=p.beam_options, options=options,
                                slice_by=slice_by or None, max_slices=p.max_slices,
                                plain=True)
    return got["train"], got["eval"], got["all"]


def _column_named(card: dict[str, Any], name: str, parameter: str) -> str:
    """A column of the ingested data by its original header or its safe name ("" stays "")."""
    if not name:
        return ""
    for column in card.get("columns", []):
        if name in (column["name"], column.get("original")):
            return column["name"]
    shown = ", ".join(c.get("original", c["name"]) for c in card.get("columns", []))
    raise ParameterError(f"{parameter} names '{name}', which is not a column of the data",
                         hint=f"use one of: {shown}", parameter=parameter)


def _validate_serving(path: Path, schema: schema_pb2.Schema, options: StatsOptions,
                      overrides: dict[str, str], p: DataValidationParams,
                      card: dict[str, Any], notes: list[str]
                      ) -> tuple[Any, ValidationReport, str]:
    """Serving data's statistics, checked against the schema in the SERVING environment, and
    the name skew messages give it. A file is read as the training data was (same parameters,
    same column names); a folder of request logs (:mod:`workbench.data.predictionlog`) gives
    the logged inputs of the model this data is served as, what the reader had to say
    (records cut short, other models) going to ``notes``."""
    table, source, name, logged = _serving_table(path, p, card, notes)
    if logged:  # the model's requests: its inputs, in its signature's dtypes
        table, schema = for_requests(table, schema)
    acc, _ = accumulate_statistics(table, options=options)
    stats = acc.to_list("serving")
    environment = SERVING if SERVING in schema.default_environment else None
    report = validate_statistics(stats, schema, environment=environment, data=table,
                                 source=source, label="serving",
                                 severity_overrides=overrides)
    return stats, report, name


def _serving_table(path: Path, p: DataValidationParams, card: dict[str, Any],
                   notes: list[str]) -> tuple[pa.Table, str, str, bool]:
    from workbench.data.names import model_name
    from workbench.data.predictionlog import is_request_log, read_request_logs

    empty_folder = path.is_dir() and not any(f.is_file() for f in path.rglob("*"))
    if not (empty_folder or is_request_log(path)):
        return (timestamps_as_seconds(read_source(path, p).table), str(path),
                f"serving data {path.name}", False)
    model = p.serving_model or model_name(str(card.get("name") or card.get("dataset") or ""))
    logs = read_request_logs(path, model=model, model_fix="serving_model={}")
    for note in logs.notes:
        log.warning("serving_data_path %s: %s", path, note)
    notes.extend(f"Request logs: {note}." for note in logs.notes)
    notes.append(f"Skew measured on {logs.rows:,} logged instances ({logs.records:,} requests "
                 f"of model '{model}' in {len(logs.files)} files under {path})"
                 + (f"; {logs.skipped:,} records skipped" if logs.skipped else "") + ".")
    return (logs.features(), f"the request logs of {model}", f"the request logs of {model}",
            True)


def _record_gate(step: Step, report: ValidationReport, baseline: Baseline | None
                 ) -> dict[str, Any]:
    reasons = report.reasons()
    shown = reasons[:MAX_GATE_REASONS]
    if len(reasons) > len(shown):
        shown.append(f"... and {len(reasons) - len(shown)} more error-level anomalies "
                     "(see anomalies_table)")
    drifted = [c for c in report.comparisons if c.exceeded]
    step.log_metrics(anomalies=len(report.errors), anomaly_warnings=len(report.warnings),
                     drifted_features=len(drifted),
                     baseline_run=baseline.run.id if baseline else "")
    return step.gate(GATE, report.passed, shown, errors=len(report.errors),
                     warnings=len(report.warnings)).to_dict()


def _gate_dict(step: Step) -> dict[str, Any]:
    gate = step.record.gate(GATE)
    return gate.to_dict() if gate else {}


def _save_path(schema_path: str, data: IngestResult, project_root: Path | None) -> Path:
    """Where the schema editor saves: the schema_path file, else schemas/<data>.pbtxt."""
    if schema_path:
        return _resolve(schema_path, project_root)
    stem = data.dataset or Path(str(data.card.get("name", "data"))).stem
    return _resolve(f"schemas/{stem}.pbtxt", project_root)


def _load(step: Step) -> ValidationResult:
    drift = step.load("drift")
    serving = (step.load("stats_serving", message=_LIST) if step.has("stats_serving")
               else None)
    return ValidationResult(
        stats_train=step.load("stats_train", message=_LIST),
        stats_eval=step.load("stats_eval", message=_LIST),
        schema=step.load("schema", message=schema_pb2.Schema),
        schema_inferred=step.load("schema_inferred", message=schema_pb2.Schema),
        anomalies=step.load("anomalies", message=anomalies_pb2.Anomalies),
        table=step.load("anomalies_table"),
        drift=drift,
        gate=_gate_dict(step),
        stats_serving=serving,
        stats_baseline=_baseline_statistics(step, drift.get("baseline")),
        notes=list(drift.get("notes", [])),
    )


def _baseline_statistics(step: Step, baseline: dict[str, Any] | None) -> Any:
    """The baseline's training statistics, for the view, if that run still exists."""
    if not baseline:
        return None
    try:
        run = step.store.open(baseline["run"])
        return Baseline(run, baseline.get("why", "")).statistics()
    except WorkbenchError as err:
        log.warning("baseline statistics of run %s are not available: %s", baseline["run"], err)
        return None
