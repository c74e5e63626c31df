"""Stage 06 end to end: the notebook run headless with papermill on a prepared run (its
01_data_validation eval split and 04_export saved model), then shown read-only as a Voila app
in a real browser, which must not start a server."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import papermill
import pyarrow as pa
import pytest

from tests.conftest import REPO
from tests.serving.conftest import make_exports
from tests.serving.demo_model import FEATURES, columns, rows
from workbench.runs.step import open_step
from workbench.runs.store import RunStore
from workbench.serving.control import Controller
from workbench.serving.process import running
from workbench.serving.repository import Repository

pytestmark = [pytest.mark.slow, pytest.mark.browser]

NOTEBOOK = REPO / "notebooks" / "06_serving.ipynb"


def _prepare_run(root: Path, export: Path) -> Path:
    store = RunStore(root / "runs")
    run = store.create(state="created")
    data = columns(rows(300, seed=21))
    table = pa.table({k: pa.array(list(v) if v.dtype == object else v) for k, v in data.items()})
    table = table.append_column("is_fraud", pa.array([0, 1] * 150))
    step = open_step("01_data_validation", str(run.path))
    step.save("eval", table)
    step.save("data_card", {"name": "fraud", "label": "is_fraud", "task": "binary",
                            "columns": FEATURES, "splits": {"eval": 300}})
    step.finish()
    step = open_step("04_export", str(run.path))
    with step.writing("saved_model", kind="dir") as tmp:
        shutil.rmtree(tmp)
        shutil.copytree(export, tmp)
    step.finish()
    return run.path


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    exports = make_exports(tmp_path_factory)
    root = tmp_path_factory.mktemp("stage06")
    (root / "workbench.yaml").write_text("runs_dir: runs\n")
    old = os.environ.get("WORKBENCH_HOME")
    os.environ["WORKBENCH_HOME"] = str(root)
    try:
        # a stable version is already served from an earlier run: this run's push is a canary
        repo = Repository(root / "serving")
        repo.init()
        first = repo.push(exports[1], "fraud")
        Controller(repo).deploy("fraud", first.version, label="stable")
        run_path = _prepare_run(root, exports[2])
        out = root / "06_serving.out.ipynb"
        papermill.execute_notebook(
            str(NOTEBOOK), str(out), cwd=str(root), kernel_name="python3", progress_bar=False,
            parameters={"run_dir": str(run_path), "rest_port": 0, "grpc_port": 0,
                        "parity_rows": 64, "load_seconds": 2, "canary_requests": 40,
                        "latency_budget_ms": 5000.0})
        yield root, run_path, out, repo
    finally:
        if old is None:
            os.environ.pop("WORKBENCH_HOME", None)
        else:
            os.environ["WORKBENCH_HOME"] = old


def test_notebook_deploys_a_canary_checks_it_and_promotes(executed):
    root, run_path, out, repo = executed
    manifest = json.loads((run_path / "run.json").read_text())
    step = manifest["steps"]["06_serving"]
    assert step["gates"]["serving"]["passed"], step["gates"]["serving"]["reasons"]
    report = json.loads((run_path / "06_serving" / "serving_report.json").read_text())
    assert report["push"]["version"] == 2 and report["push"]["label"] == "canary"
    assert report["smoke"]["passed"] and report["parity"]["passed"]
    assert report["parity"]["examples"] == 64
    assert report["load_test"]["requests"] > 0 and report["load_test"]["errors"] == 0
    assert report["canary"]["stable"] == 1 and report["canary"]["canary"] == 2
    assert report["decision"]["action"] == "promote"
    assert repo.labels("fraud") == {"stable": 2}
    assert running(repo) is None                        # the notebook stopped its server
    assert step["metrics"]["serving_rps"] > 0
    text = out.read_text()
    assert "application/vnd.jupyter.widget-view+json" in text


def test_stage_renders_as_a_voila_app_without_starting_a_server(executed, voila_app,
                                                                app_page):
    root, run_path, _, repo = executed
    app = voila_app(str(NOTEBOOK), project=root, run=run_path.name)
    page = app_page(app.url, wait_for=".wb-serving img")
    body = page.inner_text(".wb-serving")
    assert "Serving fraud" in body and "promote" in body
    assert "passed" in body and "Load test" in body
    assert page.locator(".wb-serving button").count() == 0     # read-only: no actions
    assert running(repo) is None
    assert not (repo.root / "server.json").exists()
