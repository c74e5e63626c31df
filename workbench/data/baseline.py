"""The baseline a data-validation step compares against (drift), and where schemas come from.

Baseline: the latest *other* run of the same data (same label; the same bundled dataset, or a
file) whose ``03_evaluate`` step blessed its model (a ``blessing`` artifact with
``"blessed": true``); when there is none, the latest such run whose ``data_validation`` gate
passed; when none, no drift check. Artifacts are read through a read-only step handle, so their
hashes are checked.

Reference schema, in order: the ``schema_path`` parameter (a user-curated schema, possibly
written by TFDV); the curated schema a bundled dataset ships (``schemas/<dataset>.pbtxt``); the
schema of the baseline run; the schema inferred from this data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from workbench.data.schema import read_schema
from workbench.errors import WorkbenchError
from workbench.runs.lineage import find_blessed
from workbench.runs.record import RunRecord, StepRecord
from workbench.runs.step import Step
from workbench.runs.store import Run
from workbench.stages import DATA_VALIDATION

__all__ = ["Baseline", "SchemaChoice", "bundled_schema_path", "choose_schema", "find_baseline"]

log = logging.getLogger(__name__)

DATA_STEP = DATA_VALIDATION
GATE = "data_validation"


@dataclass
class Baseline:
    run: Run
    why: str  # "blessed" | "gate_passed"

    @property
    def description(self) -> str:
        how = ("its model was blessed by 03_evaluate" if self.why == "blessed"
               else "it passed the data_validation gate")
        return f"run {self.run.id} ({how})"

    def step(self) -> Step:
        return Step(self.run, DATA_STEP, "view")

    def statistics(self, name: str = "stats_train"
                   ) -> statistics_pb2.DatasetFeatureStatisticsList:
        return self.step().load(name, message=statistics_pb2.DatasetFeatureStatisticsList)

    def schema(self) -> schema_pb2.Schema | None:
        step = self.step()
        return step.load("schema", message=schema_pb2.Schema) if step.has("schema") else None

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run.id, "why": self.why, "description": self.description}


def _card_dataset(card: dict[str, Any]) -> str | None:
    if "dataset" in card:
        return card["dataset"]
    source = str(card.get("source", ""))  # data cards written before the field existed
    return card.get("name") if source.startswith("bundled dataset") else None


def _same_data(run: Run, label: str | None, dataset: str | None,
               columns: set[str] | None) -> bool:
    """Whether ``run`` ingested the same kind of data: the same label, the same bundled
    dataset (or a file, for data read from files) and, when ``columns`` is given, the same
    columns (two files with a column named ``label`` are not the same data)."""
    if label is None:
        return True
    try:
        card = Step(run, DATA_STEP, "view").load("data_card")
    except WorkbenchError as err:
        log.warning("run %s is no baseline: %s", run.id, err)
        return False
    same_columns = columns is None or {c["name"] for c in card.get("columns", [])} == columns
    return card.get("label") == label and _card_dataset(card) == dataset and same_columns


def _usable(run: Run, record: RunRecord, label: str | None, dataset: str | None,
            columns: set[str] | None) -> bool:
    return (record.done(DATA_STEP) and record.artifact(DATA_STEP, "stats_train") is not None
            and _same_data(run, label, dataset, columns))


def find_baseline(step: Step, *, label: str | None = None, dataset: str | None = None,
                  columns: set[str] | None = None) -> Baseline | None:
    """The run this step's data is compared with (see the module docstring), or None. With a
    ``label``, only runs of the same data count: same label, same bundled ``dataset`` (None:
    data read from a file) and, given ``columns``, the same column names."""
    blessed, _ = find_blessed(step.store, exclude=step.run, accept=lambda run, record: (
        "" if _usable(run, record, label, dataset, columns) else None))
    if blessed is not None:
        return Baseline(blessed, "blessed")
    for run, record in step.store.newest_first(exclude=step.run):
        gate = (record.step(DATA_STEP) or StepRecord(DATA_STEP)).gate(GATE)
        if gate is not None and gate.passed and _usable(run, record, label, dataset, columns):
            return Baseline(run, "gate_passed")
    return None


def bundled_schema_path(dataset: str) -> Path | None:
    """The curated schema a bundled dataset ships, if any."""
    path = resources.files("workbench.data") / "schemas" / f"{dataset}.pbtxt"
    return Path(str(path)) if path.is_file() else None


@dataclass
class SchemaChoice:
    schema: schema_pb2.Schema
    source: str  # "parameter" | "bundled" | "baseline" | "inferred"
    description: str
    path: str | None = None  # the file it came from, when it came from one


def choose_schema(*, schema_path: Path | None, dataset: str | None,
                  baseline: Baseline | None, inferred: schema_pb2.Schema) -> SchemaChoice:
    """The reference schema, in the order of the module docstring."""
    if schema_path is not None:
        return SchemaChoice(read_schema(schema_path), "parameter",
                            f"the curated schema {schema_path} (schema_path)", str(schema_path))
    bundled = bundled_schema_path(dataset) if dataset else None
    if bundled is not None:
        return SchemaChoice(read_schema(bundled), "bundled",
                            f"the curated schema shipped with the '{dataset}' dataset",
                            str(bundled))
    if baseline is not None:
        schema = baseline.schema()
        if schema is not None:
            return SchemaChoice(schema, "baseline",
                                f"the schema of the baseline {baseline.description}")
    return SchemaChoice(inferred, "inferred",
                        "the schema inferred from this data (no curated schema, no baseline)")


def cache_key(run: Run, stage: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The baseline stage 01 would compare with, for the runner's cache key: a new blessed run
    (or one whose data passed) changes the drift result, so the stage must not be reused."""
    from workbench.data.datasets import dataset_info

    dataset = None if params.get("data_path") else params.get("dataset")
    label = params.get("label") or (dataset_info(dataset).label if dataset else None)
    baseline = find_baseline(Step(run, stage, "view"), label=label or None, dataset=dataset)
    if baseline is None:
        return None
    stats = baseline.run.record().artifact(DATA_STEP, "stats_train")
    return {"run": baseline.run.id, "why": baseline.why,
            "stats": stats.sha256 if stats else None}

