"""Stages 02 and 03 run as a user runs them in JupyterLab: default parameters edited by hand,
no injected run folder; they attach to the latest run and record their results in it."""

from __future__ import annotations

import json

import pytest

from workbench.runs import Run

from ..notebooks.test_interactive import run_like_jupyterlab
from .helpers import data_run, make_project

pytestmark = pytest.mark.slow


def test_train_and_evaluate_notebooks_run_interactively(tmp_path, monkeypatch) -> None:
    project = tmp_path / "p"
    run = data_run(make_project(project), "breast_cancer")
    train_nb = run_like_jupyterlab("02_train.ipynb", {"epochs": "3", "batch_size": "32"},
                                   project, monkeypatch)
    eval_nb = run_like_jupyterlab("03_evaluate.ipynb", {"slices": '["size_cat"]'}, project,
                                  monkeypatch)
    assert [p.name for p in (project / "runs").iterdir()] == [run.id], "no new run"
    steps = Run(run.path).read()["steps"]
    for stage in ("02_train", "03_evaluate"):
        assert steps[stage]["executor"] == "interactive" and steps[stage]["state"] == "succeeded"
    assert steps["02_train"]["metrics"]["epochs_run"] == 3
    evaluation = json.loads((run.path / "03_evaluate" / "evaluation.json").read_text())
    assert evaluation["slice_features"] == ["size_cat"]
    for nb in (train_nb, eval_nb):
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                assert out.get("name") != "stderr", out
                assert out.get("output_type") != "error", out
    # the training widget's display was refreshed at the end: the final picture is kept
    pictures = [o for c in train_nb.cells for o in c.get("outputs", [])
                if "finished: epoch 3 of 3" in o.get("data", {}).get("text/html", "")]
    assert pictures and "data:image/png;base64," in pictures[0]["data"]["text/html"]
