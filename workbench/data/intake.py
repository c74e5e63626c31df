"""Stage 01's ingest, in one direction: detect → read → name and type → roles → label →
filter → split → card.

Each step records what it decided in an :class:`Intake`, and the data card is built from those
decisions, not computed again: the dialect and how each setting was decided, every column's
original header and safe name, each column's role with its reason, what was dropped and why,
the label's values and the positive class guessed, date ranges, and every warning.
``workbench validate`` reads files through the same :func:`read_source`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.data.ingest import data_card, require_columns, split_table
from workbench.data.params import DataValidationParams
from workbench.data.reading import ReadResult, read_table
from workbench.data.roles import Roles, infer_roles
from workbench.errors import DataError, ParameterError

__all__ = ["Intake", "infer_task", "read_source", "run_intake", "timestamps_as_seconds"]

log = logging.getLogger(__name__)

TASKS = ("binary", "multiclass", "regression")
#: label values that mean "the positive class", first match wins (case-insensitive)
_POSITIVE = re.compile(r"^(1|1\.0|true|yes|y|fraud|fraudulent|positive|pos|bad|default|"
                       r"churn(ed)?|spam|anomaly|malignant)$", re.IGNORECASE)


@dataclass
class Intake:
    """The rows of one ingest and every decision taken on the way."""

    table: pa.Table
    source: str
    name: str
    label: str
    read: ReadResult | None = None  # None for a bundled dataset
    dataset: str | None = None
    roles: Roles | None = None
    key: str | None = None
    task: str = ""
    time_column: str | None = None
    positive: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    dropped_rows: list[dict[str, Any]] = field(default_factory=list)
    label_tokens: tuple[str, str] | None = None  # a boolean label's (true, false) tokens

    def note(self, text: str) -> None:
        log.warning("%s", text)
        self.warnings.append(text)

    def card(self, train: pa.Table, evals: pa.Table, p: DataValidationParams) -> dict[str, Any]:
        """The data card: the table's columns, and every decision of this ingest."""
        card = data_card(self.table, name=self.name, source=self.source)
        originals = {c.safe: c.original for c in self.read.columns} if self.read else {}
        roles = self.roles.to_dict() if self.roles else {}
        for column in card["columns"]:
            column["original"] = originals.get(column["name"], column["name"])
            if column["name"] in roles:
                column.update(role=roles[column["name"]]["role"],
                              role_reason=roles[column["name"]]["reason"])
        card.update(label=self.label, task=self.task, key=self.key, seed=p.seed,
                    eval_fraction=p.eval_fraction, dataset=self.dataset,
                    splits={"train": train.num_rows, "eval": evals.num_rows},
                    roles=roles, positive_class=self.positive or None,
                    split=({"by": "time", "column": self.time_column} if self.time_column else
                           {"by": "key", "column": self.key} if self.key else {"by": "row"}),
                    dropped_columns=[{"name": n, "original": originals.get(n, n),
                                      "role": r.role, "reason": r.reason}
                                     for n, r in (self.roles.dropped.items() if self.roles
                                                  else [])],
                    dropped_rows=self.dropped_rows, warnings=list(self.warnings))
        if self.read is not None:
            card["reading"] = {"dialect": self.read.dialect.to_dict(),
                               "types": {k: d.to_dict() for k, d in self.read.types.items()}}
        dates = _date_summaries(self.table, self.roles)
        if dates:
            card["datetime"] = dates
        if p.row_filter.strip():
            card["row_filter"] = p.row_filter
        return card


def read_source(path: Path, p: DataValidationParams) -> ReadResult:
    """Read a user's file, folder or glob with the stage's reading parameters."""
    return read_table(path, **p.read_overrides())


def run_intake(p: DataValidationParams, *, path: Path | None = None, table: pa.Table | None = None,
               dataset: str | None = None, label: str = "", key: str = "", task: str = "",
               read: ReadResult | None = None) -> Intake:
    """Read (a file at ``path``, or a bundled ``table``), name, type, find roles and the label:
    everything before the row filter and the split. ``read``: the rows ``path`` was already
    read into (a sample, when the data is split on Beam's workers)."""
    if path is not None:
        read = read or read_source(path, p)
        got = Intake(read.table, read.source, Path(p.data_path).name, "", read)
        for warning in read.warnings:
            got.note(warning)
        if not p.label:
            shown = ", ".join(c.original for c in read.columns)
            raise DataError(f"no label column given for {read.source}",
                            hint=f"set the label parameter to one of: {shown}",
                            file=read.source)
        got.label = read.safe(p.label, "label")
        got.roles = infer_roles(read, label=got.label)
    else:
        got = Intake(table, f"bundled dataset '{dataset}'" + (
            f" with faults {list(p.faults)}" if p.faults else ""), dataset or "data", label,
            dataset=dataset)
        require_columns(table, {"label": label}, got.source)
        got.roles = infer_roles(table, label=label, feature_roles=p.feature_roles or None)
    got.task = p.task or task
    _label(got)
    got.key = _key(got, p.key_column or key)
    got.table = timestamps_as_seconds(got.table)
    return got


def timestamps_as_seconds(table: pa.Table) -> pa.Table:
    """Date and time columns as int64 seconds since 1970-01-01 UTC: the model's raw input
    (its preprocessing computes hour, weekday … from it; the serving signature takes it)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_date(f.type):
            column = pc.cast(pc.cast(table.column(i), pa.timestamp("s")), pa.int64())
        elif pa.types.is_timestamp(f.type):
            column = pc.cast(pc.cast(table.column(i), pa.timestamp("s", tz=f.type.tz)),
                             pa.int64())
        else:
            continue
        table = table.set_column(i, pa.field(f.name, pa.int64(), metadata={
            b"workbench.unit": b"epoch seconds (UTC)"}), column)
    return table


def _label(got: Intake) -> None:
    """The label: boolean back to its tokens, rows without a label dropped (and said), the
    task inferred or checked, the positive class guessed."""
    column = got.table.column(got.label)
    if pa.types.is_boolean(column.type):
        got.label_tokens = _bool_tokens(got.read, got.label)
        got.table = label_as_tokens(got.table, got.label, got.label_tokens)
        column = got.table.column(got.label)
    if column.null_count:
        missing = np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))
        n = len(missing)
        if n == len(column):
            raise DataError(f"label column '{got.label}' of {got.source} has no value on any "
                            "row", hint="set the label parameter to the column that holds the "
                            "outcome", column=got.label, parameter="label")
        got.dropped_rows.append({"rows": int(n), "why": f"no value in label '{got.label}'",
                                 "first_rows": [int(r) + 1 for r in missing[:5]]})
        got.note(f"{n:,} of {len(column):,} rows have no value in the label '{got.label}' "
                 f"(first data rows: {', '.join(str(int(r) + 1) for r in missing[:5])}); they "
                 "are left out, since a row without an outcome cannot train or evaluate")
        got.table = got.table.filter(pc.is_valid(column))
        column = got.table.column(got.label)
    if got.task and got.task not in TASKS:
        raise ParameterError(f"unknown task '{got.task}'", hint=f"use one of: {', '.join(TASKS)}",
                             parameter="task")
    got.task = got.task or infer_task(column, got.label)
    if got.task == "binary":
        values = pc.value_counts(column)
        n = len(values)
        if n > 2:
            shown = ", ".join(f"{v['values']!r} ({v['counts']:,})" for v in
                              values.to_pylist()[:6])
            raise DataError(f"label '{got.label}' has {n} different values but the task is "
                            f"binary: {shown}", hint="set task=multiclass, or fix the label "
                            "values (a filter: row_filter)", column=got.label, parameter="task")
        got.positive = _positive_class(values.to_pylist())
    if got.task == "regression" and not (pa.types.is_integer(column.type)
                                         or pa.types.is_floating(column.type)):
        raise DataError(f"label '{got.label}' holds text ({column.type}), not numbers, but the "
                        "task is regression", hint="set task=binary or multiclass, or the "
                        "decimal parameter if the numbers use a decimal comma",
                        column=got.label, parameter="task")


def label_as_tokens(table: pa.Table, label: str, tokens: tuple[str, str] | None) -> pa.Table:
    """A boolean label as the tokens the file wrote (``(yes, no)``), so classes read as the
    data says them."""
    column = table.column(label)
    if tokens is None or not pa.types.is_boolean(column.type):
        return table
    return table.set_column(table.schema.get_field_index(label), label,
                            pc.if_else(column, *tokens))


def _bool_tokens(read: ReadResult | None, column: str) -> tuple[str, str]:
    """The words a yes/no label column was written with (its own, e.g. yes/no, not Y/N of
    another column), so the classes read as the file does."""
    if read is None:
        return "true", "false"
    decided = read.types.get(column)
    seen = set(str(decided.evidence).removeprefix("only ").split("/")) if decided else set()
    trues = [t for t in read.dialect.true_values or () if t in seen] or ["true"]
    falses = [t for t in read.dialect.false_values or () if t in seen] or ["false"]
    return str(trues[0]), str(falses[0])


def _positive_class(counts: list[dict[str, Any]]) -> dict[str, Any]:
    """The class a binary label calls positive: a value that says so (yes, true, 1, fraud …),
    else the rarer class (what a model is usually asked to find)."""
    values = sorted(counts, key=lambda c: (c["counts"], str(c["values"])))
    for c in values:
        if _POSITIVE.match(str(c["values"])):
            return {"value": str(c["values"]), "why": f"'{c['values']}' names the outcome",
                    "parameter": "02_train.positive_class"}
    return {"value": str(values[0]["values"]), "why": f"the rarer class ({values[0]['counts']:,} "
            f"of {sum(c['counts'] for c in values):,} rows)",
            "parameter": "02_train.positive_class"}


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


def _key(got: Intake, given: str) -> str | None:
    """The split key: the key_column parameter, else a column the roles call an identifier."""
    if given:
        if got.read is not None:
            return got.read.safe(given, "key_column")
        require_columns(got.table, {"key_column": given}, got.source)
        return given
    ids = [n for n in (got.roles.ids if got.roles else [])
           if got.table.column(n).null_count == 0]
    return ids[0] if ids and got.read is not None else None


def split(got: Intake, p: DataValidationParams) -> tuple[pa.Table, pa.Table]:
    """Train and eval: by time (``time_split``), by the hash of the key, or by row."""
    column = _time_column(got, p.time_split)
    if column is None:
        return split_table(got.table, eval_fraction=p.eval_fraction, seed=p.seed, key=got.key)
    got.time_column = column
    times = got.table.column(column)
    if times.null_count:
        raise DataError(f"time_split column '{column}' has {times.null_count:,} rows without a "
                        "time", hint="fill them, filter them out (row_filter) or split another "
                        "way (time_split empty)", column=column, parameter="time_split")
    order = pc.sort_indices(times)
    n = got.table.num_rows
    n_eval = max(1, int(round(n * p.eval_fraction)))
    if n - n_eval < 1:
        raise DataError(f"splitting {n} rows by time leaves no training rows",
                        hint="use more rows or a smaller eval_fraction", parameter="eval_fraction")
    ordered = got.table.take(order)
    return ordered.slice(0, n - n_eval), ordered.slice(n - n_eval)


def _time_column(got: Intake, time_split: str) -> str | None:
    if not time_split:
        return None
    dates = got.roles.of("datetime") if got.roles else []
    if time_split == "auto":
        if len(dates) != 1:
            raise ParameterError(f"time_split=auto needs exactly one date/time column; "
                                 f"{got.source} has {len(dates)}"
                                 + (f" ({', '.join(dates)})" if dates else ""),
                                 hint="name the column: time_split=<column>",
                                 parameter="time_split")
        return dates[0]
    name = got.read.safe(time_split, "time_split") if got.read else time_split
    if name not in dates:
        raise ParameterError(f"time_split names '{time_split}', which is not a date/time column "
                             f"of {got.source}", hint=f"date/time columns: "
                             f"{', '.join(dates) or 'none'}; or give its format (date_format)",
                             parameter="time_split")
    return name


def _date_summaries(table: pa.Table, roles: Roles | None) -> dict[str, Any]:
    """Range and the per-hour / per-weekday distribution of each date/time column."""
    import datetime as dt

    out = {}
    for name in (roles.of("datetime") if roles else []):
        seconds = table.column(name).drop_null().to_numpy(zero_copy_only=False)
        if len(seconds) == 0 or not np.issubdtype(seconds.dtype, np.integer):
            continue
        days = np.floor_divide(seconds, 86_400)
        out[name] = {
            "unit": "epoch seconds (UTC)",
            "min": dt.datetime.fromtimestamp(int(seconds.min()), dt.UTC).isoformat(),
            "max": dt.datetime.fromtimestamp(int(seconds.max()), dt.UTC).isoformat(),
            "by_hour": np.bincount(np.floor_divide(np.mod(seconds, 86_400), 3600),
                                   minlength=24).tolist(),
            "by_weekday": np.bincount(np.mod(days + 3, 7), minlength=7).tolist(),  # Monday 0
        }
    return out
