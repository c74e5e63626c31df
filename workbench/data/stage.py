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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

from workbench.data.baseline import Baseline, choose_schema, find_baseline
from workbench.data.datasets import dataset_info, load_dataset
from workbench.data.ingest import data_card, require_columns, split_table
from workbench.data.params import DataValidationParams
from workbench.data.readers import all_null_columns, read_data
from workbench.data.schema import SERVING, TRAINING, infer_schema
from workbench.data.stats import (
    StatisticsAccumulator,
    StatsOptions,
    accumulate_statistics,
    top_slices,
)
from workbench.data.validate import ValidationReport, validate_statistics
from workbench.errors import DataError, WorkbenchError
from workbench.runs.step import Step

__all__ = ["GATE", "DataValidationParams", "IngestResult", "ValidationResult", "infer_task",
           "ingest", "validate"]

log = logging.getLogger(__name__)

TASKS = ("binary", "multiclass", "regression")
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

    @property
    def label(self) -> str:
        return self.card["label"]

    @property
    def task(self) -> str:
        return self.card["task"]


def infer_task(column: pa.ChunkedArray, label: str) -> str:
    """binary / multiclass / regression from the label's values."""
    values = column.drop_null()
    if len(values) == 0:
        raise DataError(f"label column '{label}' has no values", column=label,
                        hint="every training row needs a label")
    distinct = pc.count_distinct(values).as_py()
    if pa.types.is_string(column.type) or pa.types.is_boolean(column.type):
        return "binary" if distinct <= 2 else "multiclass"
    if pa.types.is_integer(column.type) or (
            pa.types.is_floating(column.type)
            and bool(pc.all(pc.equal(values, pc.floor(values))).as_py())):
        if distinct <= 2:
            return "binary"
        if distinct <= 50:
            return "multiclass"
    return "regression"


def _resolve(path: str, project_root: Path | None) -> Path:
    p = Path(path)
    if p.is_absolute():
        return p
    from workbench.project import Project

    return (project_root or Project.find().root) / p


def apply_filter(table: pa.Table, row_filter: str, source: str) -> pa.Table:
    """Keep the rows where the SQL condition ``row_filter`` holds (e.g. ``amount > 0``)."""
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
    if kept.num_rows == 0:
        raise DataError(f"row_filter '{row_filter}' leaves 0 of {table.num_rows:,} rows of "
                        f"{source}", hint="loosen the filter or check its values (text is "
                        "compared case-sensitively)", file=source)
    return kept.cast(table.schema) if kept.schema != table.schema else kept


def _check_columns(table: pa.Table, source: str) -> None:
    empty = all_null_columns(table)
    if empty:
        raise DataError(
            f"column{'s' if len(empty) > 1 else ''} {', '.join(repr(c) for c in empty)} of "
            f"{source} {'have' if len(empty) > 1 else 'has'} no value in any of its "
            f"{table.num_rows:,} rows",
            hint="drop the column or fill it; an all-empty column has no type to validate",
            file=source, column=empty[0])


def ingest(step: Step, params: DataValidationParams | None = None, *,
           project_root: Path | None = None) -> IngestResult:
    """Read (or generate) the data, check the label, split it and record both splits."""
    if not step.computing:
        card = step.load("data_card")
        return IngestResult(card, dataset=card.get("dataset"))
    p = params or DataValidationParams()
    dataset, data_path, label, task = p.dataset, p.data_path, p.label, p.task
    seed, row_filter, eval_fraction = p.seed, p.row_filter, p.eval_fraction
    bundled = None
    if data_path:
        path = _resolve(data_path, project_root)
        table = read_data(path)
        source = str(path)
        if not label:
            raise DataError(f"no label column given for {source}",
                            hint=f"set the label parameter to one of: "
                            f"{', '.join(table.column_names)}", file=source)
        key = p.key_column or None
    else:
        info = dataset_info(dataset)
        bundled = dataset
        table = load_dataset(dataset, rows=p.rows, seed=seed, faults=p.faults,
                             fault_fraction=p.fault_fraction)
        source = f"bundled dataset '{dataset}'" + (f" with faults {list(p.faults)}" if p.faults
                                                   else "")
        label = label or info.label
        key = p.key_column or info.key
        task = task or info.task
    table = apply_filter(table, row_filter, source)
    _check_columns(table, source)
    require_columns(table, {"label": label, "key_column": key or ""}, source)
    if table.column(label).null_count:
        n = table.column(label).null_count
        rows_missing = np.flatnonzero(table.column(label).is_null().to_numpy(
            zero_copy_only=False))[:5].tolist()
        raise DataError(f"label column '{label}' of {source} is missing on {n} rows "
                        f"(first rows: {rows_missing})",
                        hint="drop or fix the unlabeled rows before ingest", column=label)
    task = task or infer_task(table.column(label), label)

    train, evals = split_table(table, eval_fraction=eval_fraction, seed=seed, key=key)
    card = data_card(table, name=dataset if not data_path else Path(data_path).name,
                     source=source)
    card.update(label=label, task=task, key=key, seed=seed, eval_fraction=eval_fraction,
                splits={"train": train.num_rows, "eval": evals.num_rows}, dataset=bundled)
    if row_filter.strip():
        card["row_filter"] = row_filter
    step.save("train", train, rows=train.num_rows)
    step.save("eval", evals, rows=evals.num_rows)
    step.save("data_card", card)
    step.log_metrics(rows=table.num_rows, rows_train=train.num_rows, rows_eval=evals.num_rows)
    return IngestResult(card, train, evals, table, bundled)


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
    schema_path, serving_data_path, slice_by = p.schema_path, p.serving_data_path, p.slice_by
    if data.train is None or data.eval is None or data.table is None:
        raise DataError("validate needs the tables ingest returned in compute mode",
                        hint="call ingest(...) in the same mode first")
    options = options or StatsOptions()
    stats_train, stats_eval, whole = _split_statistics(data, options, progress, slice_by)

    inferred = infer_schema(whole, label=data.label, drift_threshold=p.drift_threshold,
                            skew_threshold=p.skew_threshold, infer_ranges=p.infer_ranges)
    baseline = find_baseline(step, label=data.label, dataset=data.dataset)
    choice = choose_schema(
        schema_path=_resolve(schema_path, project_root) if schema_path else None,
        dataset=data.dataset, baseline=baseline, inferred=inferred)
    schema = choice.schema
    environment = TRAINING if TRAINING in schema.default_environment else None
    previous = baseline.statistics() if baseline is not None else None
    overrides = {t: "WARNING" for t in p.warning_anomalies}
    stats_serving = serving_report = None
    if serving_data_path:
        stats_serving, serving_report = _validate_serving(
            _resolve(serving_data_path, project_root), schema, options, overrides)
    report = validate_statistics(
        whole, schema, environment=environment, data=data.table, source=data.card["source"],
        previous=previous, serving=stats_serving, compared=stats_train.datasets[0],
        previous_name=f"baseline run {baseline.run.id}" if baseline else "the baseline",
        serving_name=f"serving data {Path(serving_data_path).name}",
        severity_overrides=overrides)
    if serving_report is not None:
        report.findings += serving_report.findings
    notes = [f"Reference schema: {choice.description}."]
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
                      progress: Callable[[int, int | None], None] | None, slice_by: str
                      ) -> tuple[Any, Any, Any]:
    """Statistics of train (with slices) and eval in one pass each, merged for all rows."""
    total = data.train.num_rows + data.eval.num_rows

    def part(offset: int) -> Callable[[int, int | None], None] | None:
        if progress is None:
            return None
        return lambda done, _total: progress(offset + done, total)

    train_acc, slices = accumulate_statistics(data.train, options=options, progress=part(0),
                                              slice_by=slice_by or None)
    eval_acc, _ = accumulate_statistics(data.eval, options=options,
                                        progress=part(data.train.num_rows))
    stats_train = train_acc.to_list("train")
    for value, acc in top_slices(slices, 20):
        stats_train.datasets.append(acc.to_proto(f"{slice_by}_{value}"))
    whole = StatisticsAccumulator(options).merge(train_acc).merge(eval_acc).to_list("all")
    return stats_train, eval_acc.to_list("eval"), whole


def _validate_serving(path: Path, schema: schema_pb2.Schema, options: StatsOptions,
                      overrides: dict[str, str]) -> tuple[Any, ValidationReport]:
    """Serving data's statistics, checked against the schema in the SERVING environment."""
    table = read_data(path)
    _check_columns(table, str(path))
    acc, _ = accumulate_statistics(table, options=options)
    stats = acc.to_list("serving")
    environment = SERVING if SERVING in schema.default_environment else None
    report = validate_statistics(stats, schema, environment=environment, data=table,
                                 source=str(path), label="serving",
                                 severity_overrides=overrides)
    return stats, report


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
