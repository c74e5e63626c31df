"""The serving page's production-data section on projects without a deployed model, without
request logs, and with logs that differ from the training data (the browser test checks it on
the demo model's real served traffic)."""

from __future__ import annotations

from pathlib import Path

from tests.serving.conftest import placeholder_repository
from workbench.apps.production import production_check
from workbench.project import Project
from workbench.widgets.production_data import ProductionDataView


def test_nothing_deployed_says_so(project: Path):
    [entry] = production_check(Project.load(project))["models"]
    assert entry["status"] == "none" and "No model is deployed" in entry["lead"]


def test_a_model_without_request_logs_says_how_to_turn_them_on(project: Path):
    placeholder_repository(project / "serving")
    [entry] = production_check(Project.load(project))["models"]
    assert entry["status"] == "off" and entry["model"] == "fraud"
    assert "workbench monitor enable --model fraud" in entry["hint"]


def test_logging_on_but_nothing_logged_yet_is_said_not_raised(project: Path):
    from workbench.serving.monitor import enable_logging

    repo = placeholder_repository(project / "serving")
    enable_logging(repo, "fraud")
    [entry] = production_check(Project.load(project))["models"]
    assert entry["status"] == "error" and entry["lead"], entry


def test_the_view_shows_the_check_and_survives_a_failing_one():
    view = ProductionDataView(lambda: {"checked_at": "now", "models": [
        {"model": "fraud", "status": "problems", "lead": "They differ: 1 problem.",
         "problems": ["amount: values <b>far</b> off"]}]}, background=False)
    assert not view.checking and view.state["models"][0]["status"] == "problems"
    assert "amount: values &lt;b&gt;far&lt;/b&gt; off" in view.static_html()

    def broken() -> dict:
        raise RuntimeError("disk gone")

    view = ProductionDataView(broken, background=False)
    assert view.state["models"][0]["status"] == "error"
    assert "disk gone" in view.state["models"][0]["lead"] and not view.checking
