"""`workbench run` through stages 01-03 on every task, and a deliberately worse model that the
pipeline refuses at stage 03's gate."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import yaml

from ..conftest import FIXTURES, newest_run, run_workbench

pytestmark = pytest.mark.slow

#: enough steps for the small bundled datasets to learn something
TASKS = {
    "breast_cancer": ("binary", []),
    "wine": ("multiclass", ["-p", "02_train.epochs=10", "-p", "02_train.batch_size=16",
                            "-p", "02_train.learning_rate=0.02",
                            "-p", "02_train.histogram_freq=0"]),
    "diabetes": ("regression", ["-p", "02_train.epochs=10", "-p", "02_train.batch_size=16",
                                "-p", "02_train.learning_rate=0.02",
                                "-p", "02_train.histogram_freq=0"]),
}


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "workbench.yaml").write_text("runs_dir: runs\n")

    def params(self) -> Path:
        """small.yaml with the sections of stages 01-03 only (a --params file may only name
        stages that run)."""
        params = yaml.safe_load((FIXTURES / "small.yaml").read_text())
        path = self.root / "small.yaml"
        path.write_text(yaml.safe_dump({k: v for k, v in params.items() if k[:2] <= "03"}))
        return path

    def run(self, *args: str):
        return run_workbench("run", "--to", "03_evaluate", "--params", str(self.params()),
                             *args, cwd=self.root, env={"WORKBENCH_HOME": str(self.root)},
                             timeout=900)

    def latest(self) -> dict:
        return json.loads((newest_run(self.root) / "run.json").read_text())


@pytest.fixture(scope="module")
def task_runs(tmp_path_factory) -> dict[str, tuple]:
    """One project per dataset (stage 01 validates new data against the project's previous
    schema, so datasets do not share a project)."""
    out = {}
    # one after the other: jupyter kernels started at the same moment by separate processes
    # can pick the same free port (ipykernel: "Address already in use")
    for dataset, (_, extra) in TASKS.items():
        project = Project(tmp_path_factory.mktemp("pipeline") / dataset)
        result = project.run("-p", f"dataset={dataset}", *extra)
        out[dataset] = (result, project.latest(), project)
    return out


def _stderr_outputs(notebook: Path) -> list[str]:
    nb = nbformat.read(notebook, as_version=4)
    return [o.get("text", "") for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("name") == "stderr"
            or o.get("output_type") == "error"]


@pytest.mark.parametrize("dataset", list(TASKS))
def test_every_task_runs_through_train_and_evaluate(task_runs, dataset) -> None:
    result, manifest, project = task_runs[dataset]
    assert result.code == 0, result.text
    steps = manifest["steps"]
    assert [steps[s]["state"] for s in ("01_data_validation", "02_train", "03_evaluate")] == \
        ["succeeded"] * 3
    run_dir = project.root / "runs" / manifest["run_id"]
    info = json.loads((run_dir / "02_train" / "model_info.json").read_text())
    evaluation = json.loads((run_dir / "03_evaluate" / "evaluation.json").read_text())
    task = TASKS[dataset][0]
    assert info["task"] == evaluation["task"] == task
    assert steps["03_evaluate"]["gates"]["blessing"]["passed"]
    assert (run_dir / "tensorboard" / "02_train" / "train").is_dir()
    for stage in ("02_train", "03_evaluate"):
        assert _stderr_outputs(run_dir / stage / f"{stage}.ipynb") == [], stage
    metrics = steps["03_evaluate"]["metrics"]
    if task == "regression":
        assert metrics["r2"] > 0
    elif task == "multiclass":
        assert metrics["accuracy"] > 0.5
    else:
        assert metrics["auc"] > 0.8


def test_a_crippled_model_stops_the_pipeline_at_the_blessing_gate(task_runs) -> None:
    first, manifest, project = task_runs["breast_cancer"]
    assert first.code == 0
    blessed_run = manifest["run_id"]
    result = project.run("-p", "dataset=breast_cancer", "-p", "02_train.cripple=shuffle_labels")
    assert result.code == 3, result.text
    assert "gate 'blessing' of stage 03_evaluate failed" in result.err
    assert f"against {'{'}" not in result.err
    assert "not blessed: auc" in result.err and "baseline" in result.err
    manifest = project.latest()
    assert manifest["state"] == "gate_failed"
    gate = manifest["steps"]["03_evaluate"]["gates"]["blessing"]
    assert gate["baseline"] == blessed_run
    blessing = json.loads((project.root / "runs" / manifest["run_id"] / "03_evaluate"
                           / "blessing.json").read_text())
    assert not blessing["blessed"] and blessing["baseline"]["model_sha256"]
    assert any(c["metric"] == "auc" and c["kind"] == "change" and not c["passed"]
               for c in blessing["checks"])


def test_the_default_pipeline_on_fraud(small_runs) -> None:
    root, run_id = small_runs.upto("03_evaluate")
    manifest = json.loads((root / "runs" / run_id / "run.json").read_text())
    assert manifest["steps"]["03_evaluate"]["gates"]["blessing"]["passed"]
    info = json.loads((root / "runs" / run_id / "02_train" / "model_info.json").read_text())
    assert info["label"] == "is_fraud" and info["features"]
