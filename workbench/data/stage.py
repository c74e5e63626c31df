"""Stage 01, ingest part: bring data into the run as train/eval Parquet splits with a data card.

The notebook calls :func:`ingest` with its parameters; in view mode the same call loads what the
step wrote, so the notebook has one code path for computing and for showing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.data.datasets import dataset_info, load_dataset
from workbench.data.ingest import data_card, read_table, require_columns, split_table
from workbench.errors import DataError
from workbench.runs.step import Step

__all__ = ["IngestResult", "infer_task", "ingest"]

TASKS = ("binary", "multiclass", "regression")


@dataclass
class IngestResult:
    card: dict[str, Any]
    train: pa.Table | None = None
    eval: pa.Table | None = None

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


def ingest(step: Step, *, dataset: str = "fraud", data_path: str = "", rows: int = 20_000,
           faults: list[str] | tuple[str, ...] = (), fault_fraction: float = 0.05,
           label: str = "", task: str = "", key_column: str = "", eval_fraction: float = 0.2,
           seed: int = 42, project_root: Path | None = None) -> IngestResult:
    """Read (or generate) the data, check the label, split it and record both splits."""
    if not step.computing:
        return IngestResult(step.load("data_card"))
    if data_path:
        path = Path(data_path)
        if not path.is_absolute():
            from workbench.project import Project

            path = (project_root or Project.find().root) / path
        table = read_table(path)
        source = str(path)
        if not label:
            raise DataError(f"no label column given for {source}",
                            hint=f"set the label parameter to one of: "
                            f"{', '.join(table.column_names)}", file=source)
        key = key_column or None
    else:
        info = dataset_info(dataset)
        table = load_dataset(dataset, rows=rows, seed=seed, faults=faults,
                             fault_fraction=fault_fraction)
        source = f"bundled dataset '{dataset}'" + (f" with faults {list(faults)}" if faults
                                                   else "")
        label = label or info.label
        key = key_column or info.key
        task = task or info.task
    require_columns(table, {"label": label, "key_column": key or ""}, source)
    if table.column(label).null_count:
        n = table.column(label).null_count
        rows_missing = np.flatnonzero(table.column(label).is_null().to_numpy(
            zero_copy_only=False))[:5].tolist()
        raise DataError(f"label column '{label}' of {source} is missing on {n} rows "
                        f"(first rows: {rows_missing})",
                        hint="drop or fix the unlabeled rows before ingest", column=label)
    if task and task not in TASKS:
        raise DataError(f"unknown task '{task}'", hint=f"use one of: {', '.join(TASKS)}")
    task = task or infer_task(table.column(label), label)

    train, evals = split_table(table, eval_fraction=eval_fraction, seed=seed, key=key)
    card = data_card(table, name=dataset if not data_path else Path(data_path).name,
                     source=source)
    card.update(label=label, task=task, key=key, seed=seed, eval_fraction=eval_fraction,
                splits={"train": train.num_rows, "eval": evals.num_rows})
    step.save("train", train, rows=train.num_rows)
    step.save("eval", evals, rows=evals.num_rows)
    step.save("data_card", card)
    step.log_metrics(rows=table.num_rows, rows_train=train.num_rows, rows_eval=evals.num_rows)
    return IngestResult(card, train, evals)
