"""A stage notebook opened as a user opens it in JupyterLab: default parameters, no injected
run folder. It attaches to the latest run and records what it writes in that run."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from workbench.pipeline.spec import package_notebook
from workbench.runs import Run

from ..conftest import run_workbench

pytestmark = pytest.mark.slow


def run_like_jupyterlab(name: str, changes: dict[str, str], project: Path,
                        monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """Execute the shipped notebook top to bottom after editing parameter lines, with the
    notebooks folder as the working folder, as JupyterLab does."""
    nb = nbformat.read(package_notebook(name), as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    lines = cell.source.splitlines()
    for key, value in changes.items():
        lines = [f"{key} = {value}  # changed by hand" if line.startswith(f"{key} =") else line
                 for line in lines]
    cell.source = "\n".join(lines)
    monkeypatch.setenv("WORKBENCH_HOME", str(project))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(package_notebook(name).parent)}}
                   ).execute()
    return nb


def test_stage_notebook_attaches_to_the_latest_run(tmp_path, monkeypatch):
    project = tmp_path / "p"
    project.mkdir()
    (project / "workbench.yaml").write_text("runs_dir: runs\n")
    headless = run_workbench("run", "--only", "01_data_validation", "-p", "rows=2000",
                             cwd=project, env={"WORKBENCH_HOME": str(project)})
    assert headless.code == 0, headless.text
    run_path = next((project / "runs").iterdir())
    before = Run(run_path).read()["steps"]["01_data_validation"]

    nb = run_like_jupyterlab("01_data_validation.ipynb",
                             {"rows": "2000", "eval_fraction": "0.5"}, project, monkeypatch)

    assert [p.name for p in (project / "runs").iterdir()] == [run_path.name]  # no new run
    after = Run(run_path).read()["steps"]["01_data_validation"]
    assert after["executor"] == "interactive" and after["state"] == "succeeded"
    assert after["artifacts"]["train"]["sha256"] != before["artifacts"]["train"]["sha256"]
    card = json.loads((run_path / after["artifacts"]["data_card"]["path"]).read_text())
    assert card["eval_fraction"] == 0.5
    outputs = json.dumps([c.get("outputs", []) for c in nb.cells])
    assert run_path.name in outputs  # the notebook says which run it attached to
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("name") != "stderr", out
            assert out.get("output_type") != "error", out
