"""One blessed binary run with a real export and a float32 TFLite variant (built once per
session), and the fraud rows its model scores."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pytest

from tests.export.models import Trained, make_run, train
from workbench.runs.step import open_step
from workbench.runs.store import Run, RunStore


@dataclass
class Scored:
    run: Run
    store: RunStore
    trained: Trained
    rows: pa.Table  # fraud rows with every column, transaction_id included


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Scored:
    from workbench.data.datasets import load_dataset
    from workbench.export.params import ExportParams, TFLiteParams
    from workbench.export.stage import export_model
    from workbench.export.tflite_stage import convert_tflite

    root = tmp_path_factory.mktemp("predict")
    trained = train("binary", root / "model", rows=1500, epochs=2)
    run = make_run(root, trained)
    card = open_step("01_data_validation", str(run.path), "compute")
    card.save("data_card", {"name": "test-binary", "label": "is_fraud", "task": "binary",
                            "key": "transaction_id"})
    card.finish()
    step = open_step("04_export", str(run.path), "compute")
    export_model(step, ExportParams(warmup_records=4, warmup_max_batch=2))
    step.finish()
    step = open_step("05_tflite", str(run.path), "compute")
    convert_tflite(step, TFLiteParams(variants=["float32"], latency_runs=10, eval_rows=200))
    step.finish()
    rows = load_dataset("fraud", rows=3000, seed=11)
    return Scored(run, RunStore(root / "runs"), trained, rows)
