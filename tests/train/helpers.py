"""Runs with real stage-01 artifacts (ingest + statistics + schema), built in-process, for the
train and evaluate tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from workbench.data.params import DataValidationParams
from workbench.evaluate.params import EvaluateParams
from workbench.runs.step import Step
from workbench.runs.store import Run, RunStore
from workbench.train.params import TrainParams

DATA = "01_data_validation"


def make_project(root: Path) -> RunStore:
    root.mkdir(parents=True, exist_ok=True)
    (root / "workbench.yaml").write_text("runs_dir: runs\n")
    return RunStore(root / "runs")


def data_run(store: RunStore, dataset: str = "fraud", *, rows: int = 3000,
             faults: tuple[str, ...] = (), seed: int = 42) -> Run:
    """A run whose stage 01 finished on a bundled dataset, as the stage notebook does it."""
    from workbench.data.stage import ingest, validate

    run = store.create(state="interactive")
    step = Step(run, DATA, "compute")
    data = ingest(step, DataValidationParams(dataset=dataset, rows=rows, faults=list(faults), seed=seed))
    validate(step, data)
    run.update_step(DATA, state="succeeded")
    return run


def table_run(store: RunStore, train: pa.Table, evals: pa.Table, *, label: str, task: str,
              key: str | None = None, **card: Any) -> Run:
    """A run whose stage-01 artifacts come from the given tables (for bad-input tests);
    ``card`` adds fields to the data card (e.g. ``roles``)."""
    from workbench.data.schema import infer_schema
    from workbench.data.stats import compute_statistics

    run = store.create(state="interactive")
    step = Step(run, DATA, "compute")
    step.save("train", train, rows=train.num_rows)
    step.save("eval", evals, rows=evals.num_rows)
    step.save("data_card", {**card, "label": label, "task": task, "key": key,
                            "splits": {"train": train.num_rows, "eval": evals.num_rows}})
    stats = compute_statistics(train)
    step.save("stats_train", stats, kind="proto")
    step.save("schema", infer_schema(stats), kind="pbtxt")
    run.update_step(DATA, state="succeeded")
    return run


def train_step(run: Run, **params: Any) -> Any:
    """Run stage 02 in-process on ``run`` (small and fast by default)."""
    from workbench.train.stage import train

    defaults = {"epochs": 3, "batch_size": 64, "hidden_units": [16], "seed": 7}
    step = Step(run, "02_train", "compute")
    result = train(step, TrainParams(**{**defaults, **params}))
    step.finish()
    return result


def evaluate_step(run: Run, **params: Any) -> Any:
    from workbench.evaluate.stage import evaluate

    step = Step(run, "03_evaluate", "compute")
    result = evaluate(step, EvaluateParams(**params))
    step.finish()
    return result
