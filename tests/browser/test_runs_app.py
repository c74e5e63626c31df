"""The runs app: every run, and a run's steps after a click."""

from __future__ import annotations

import pytest

from workbench.runs.store import RunStore

from .apps_harness import project_with_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_runs_app_lists_runs_and_shows_details(small_runs, voila_app, app_page, tmp_path):
    source, run_id = small_runs.upto("01_data_validation")
    # a project where the run to click is not the newest one: the newest run's details are
    # shown from the start, so clicking that one would show nothing new
    root = project_with_run(source, run_id, tmp_path / "runs-project")
    newer = RunStore(root / "runs").create(state="created").id
    app = voila_app("runs", project=root)
    page = app_page(app.url, wait_for=".wb-runs tr.wb-run-row")
    rows = page.locator("tr.wb-run-row")
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.run)") == [newer, run_id]
    assert page.locator("tr.wb-run-row.wb-selected").get_attribute("data-run") == newer
    assert page.inner_text(".wb-runs-detail .wb-title").startswith(f"Run {newer}")
    page.click(f"tr.wb-run-row[data-run='{run_id}']")
    # the details arrive from Python after the click: wait for the clicked run's
    page.locator(".wb-runs-detail .wb-title", has_text=f"Run {run_id}").wait_for()
    page.wait_for_selector(".wb-runs-detail .wb-table")
    detail = page.inner_text(".wb-runs-detail")
    assert f"Run {run_id}" in detail and "01_data_validation" in detail
    assert page.locator("tr.wb-run-row.wb-selected").get_attribute("data-run") == run_id
