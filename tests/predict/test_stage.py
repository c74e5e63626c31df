"""The optional 07_bulk_inference stage: off in the default pipeline, switched on by listing it
in workbench.yaml; its notebook's parameters cell is its declaration; in-process it scores the
run's eval split and its view mode shows the same summary."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.unit import test_stage_parameters as stage_checks
from workbench.pipeline.spec import Pipeline
from workbench.project import Project

from .conftest import Scored

OPTIONAL = Pipeline.optional_stages()


def test_the_stage_is_optional_and_listed_by_name_in_workbench_yaml(tmp_path: Path) -> None:
    assert "07_bulk_inference" not in Pipeline.default().names
    assert [s.name for s in OPTIONAL] == ["02_tune", "07_bulk_inference"]
    (tmp_path / "workbench.yaml").write_text(
        "stages: [01_data_validation, 02_train, 03_evaluate, 04_export,\n"
        "         {name: 07_bulk_inference, parameters: {output_format: csv}}]\n")
    pipeline = Pipeline.for_project(Project.load(tmp_path))
    stage = pipeline.stage("07_bulk_inference")
    assert pipeline.names[-1] == "07_bulk_inference"
    assert stage.needs == ("01_data_validation", "02_train", "04_export")
    assert stage.parameters == {"output_format": "csv"}
    assert stage.declaration.__name__ == "BulkInferenceParams"


@pytest.mark.parametrize("stage", OPTIONAL, ids=lambda s: s.name)
def test_the_parameters_cell_is_the_declaration(stage) -> None:
    stage_checks.test_the_parameters_cell_is_the_declaration(stage)
    stage_checks.test_no_notebook_call_repeats_parameter_names(stage)


@pytest.mark.slow
def test_the_stage_scores_the_eval_split_and_its_view_shows_it(exported: Scored) -> None:
    from workbench.bulk.stage import BulkInferenceParams, score_data
    from workbench.runs.step import Step

    step = Step(exported.run, "07_bulk_inference", "compute")
    result = score_data(step, BulkInferenceParams(keep_columns=["amount"], batch_size=100))
    step.finish()
    evals = exported.trained.eval.num_rows
    assert result.summary["rows"] == result.summary["scored"] == evals
    record = exported.run.record().steps["07_bulk_inference"]
    assert set(record.artifacts) == {"predictions", "rejects", "bulk_inference",
                                     "rejects_preview"}
    assert record.inputs["04_export/saved_model"] == \
        exported.run.record().artifact("04_export", "saved_model").sha256
    assert record.metrics["rejected"] == 0 and record.metrics["scored"] == evals
    table = pq.read_table(step.path("predictions"))
    assert table.num_rows == evals and "amount" in table.column_names
    view = score_data(Step(exported.run, "07_bulk_inference", "view"))
    assert view.summary == result.summary
    html = view.html()
    assert f"Scored <b>{evals:,}</b>" in html and "Predicted classes" in html


@pytest.mark.slow
def test_the_gate_fails_when_more_rows_are_rejected_than_allowed(exported: Scored,
                                                                tmp_path: Path) -> None:
    import pyarrow as pa

    from workbench.bulk.stage import BulkInferenceParams, score_data
    from workbench.runs.step import Step

    rows = exported.rows.slice(0, 20)
    amounts = rows.column("amount").cast(pa.string()).to_pylist()
    amounts[4] = "n/a?"
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(
        json.dumps({**r, "amount": a}) + "\n"
        for r, a in zip(rows.to_pylist(), amounts, strict=True)))
    step = Step(exported.run, "07_bulk_strict", "compute")
    score_data(step, BulkInferenceParams(step="07_bulk_strict", score_data_path=str(data),
                                         output_format="jsonl", max_rejected=0.0))
    gate = step.finish().gates["bulk_inference"]
    assert not gate.passed
    assert gate.reasons == ["1 of 20 rows (5.00%) could not be scored; max_rejected allows "
                            "0.00% (reasons in 07_bulk_strict/rejects.jsonl)"]
    preview = step.load("rejects_preview")
    assert preview[0]["row"] == 5 and "'n/a?', not a number" in preview[0]["reason"]


@pytest.mark.slow
def test_the_site_shows_an_optional_stage_the_project_does_not_list(exported: Scored) -> None:
    from workbench.apps.stage_view import stage_view
    from workbench.bulk.stage import BulkInferenceParams, score_data
    from workbench.runs.step import Step

    if not exported.run.record().done("07_bulk_inference"):
        step = Step(exported.run, "07_bulk_inference", "compute")
        score_data(step, BulkInferenceParams())
        step.finish()
    root = exported.store.root.parent
    (root / "workbench.yaml").write_text("runs_dir: runs\n")  # the default pipeline only
    view = stage_view(f"stage=07_bulk_inference&run={exported.run.id}", Project.load(root))
    assert view.stage == "07_bulk_inference" and view.notebook.name == \
        "07_bulk_inference.ipynb"
    code = "".join(src for kind, src, _ in view.cells if kind == "code")
    assert 'mode = "view"' in code and "score_data(ctx, params)" in code
