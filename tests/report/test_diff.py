"""`workbench diff`: the summary names what changed first; the notebook diff shows changed
outputs without execution noise; --json parses; bad input gets a message and a fix."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from workbench.review.nbdiff import stable_notebook

pytestmark = pytest.mark.slow


def test_summary_names_exactly_the_changed_parameters_first(two_runs) -> None:
    result = two_runs.workbench("diff", two_runs.a, two_runs.b, "--json")
    assert result.code == 0, result.text
    d = json.loads(result.out)
    summary = d["summary"]
    assert [p["key"] for p in summary["parameters"]] == [
        "01_data_validation.rows", "02_train.epochs"]
    rows = {r["key"]: (r["a"], r["b"]) for r in summary["data"]["rows"]}
    assert rows["rows"] == (3000, 3600)
    metrics = {m["key"]: m for m in summary["metrics"]}
    assert metrics["02_train.epochs_run"]["change"] == 1
    auc = metrics["03_evaluate.auc"]
    assert "change" in auc and auc["within_thresholds"] in (True, False)
    assert summary["artifacts"]["changed"]
    assert set(d["notebooks"]) == {"01_data_validation", "02_train", "03_evaluate"}


def test_text_output_orders_sections_by_importance(two_runs) -> None:
    result = two_runs.workbench("diff", two_runs.a, two_runs.b)
    assert result.code == 0, result.text
    out = result.out
    order = [out.index(f"\n{s}") for s in ("parameters", "data", "gates", "metrics",
                                            "artifacts", "packages")]
    assert order == sorted(order)
    assert out.index("01_data_validation.rows") < out.index("02_train.epochs") < \
        out.index("\nmetrics")


def test_train_notebook_diff_has_changed_outputs_and_no_timestamp_noise(two_runs) -> None:
    result = two_runs.workbench("diff", two_runs.a, two_runs.b, "--step", "train")
    assert result.code == 0, result.text
    notebook = result.out[result.out.index("notebook 02_train"):]
    assert "-  epochs = 2" in notebook and "+  epochs = 3" in notebook
    assert "outputs" in notebook and "epoch 3 of 3" in notebook
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", notebook), "timestamps in the diff"
    assert "/id:" not in notebook, "cell ids papermill drew differently in each run"
    for noise in ("iopub", "papermill", "execution_count", two_runs.a, two_runs.b, "0x7f"):
        assert noise not in notebook, noise
    d = json.loads(two_runs.workbench("diff", two_runs.a, two_runs.b, "--step", "2",
                                      "--json").out)
    cells = d["notebooks"]["02_train"]["cells"]
    assert any("outputs" in c["parts"] for c in cells)


def test_bad_input(two_runs) -> None:
    missing = two_runs.workbench("diff", two_runs.a, two_runs.b[:-1] + "x")
    assert missing.code == 1 and "no run" in missing.err and two_runs.a in missing.err
    step = two_runs.workbench("diff", two_runs.a, two_runs.b, "--step", "export")
    assert step.code == 1 and "steps both runs have: 01_data_validation" in step.err
    web = two_runs.workbench("diff", two_runs.a, two_runs.b, "--web")
    assert web.code == 2 and "--step" in web.err


def test_stable_notebook_drops_volatile_fields() -> None:
    nb = nbformat.v4.new_notebook(metadata={"papermill": {"duration": 1.0}, "widgets": {}})
    cell = nbformat.v4.new_code_cell("x", execution_count=4, metadata={
        "execution": {"iopub.status.busy": "2026-01-01T00:00:00Z"}, "papermill": {}})
    cell.outputs = [nbformat.v4.new_output("stream", text="/tmp/abc/runs/r1 at 2026-01-01 "
                                                          "10:00:00 <X object at 0x7f12ab>\n")]
    nb.cells.append(cell)
    injected = nbformat.v4.new_code_cell("epochs = 3", id="06a33ad4",
                                         metadata={"tags": ["injected-parameters"]})
    nb.cells.append(injected)
    out = stable_notebook(nb, run_path="/tmp/abc/runs/r1", run_id="r1")
    assert out.cells[1].id == "injected-parameters-1", "papermill's random id kept"
    assert "papermill" not in out.metadata and "widgets" not in out.metadata
    assert out.cells[0].metadata == {} and out.cells[0].execution_count is None
    assert out.cells[0].outputs[0].text == "<run> at <time> <X object at 0x…>\n"
