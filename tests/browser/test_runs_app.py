"""The runs app: every run, and a run's steps after a click."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_runs_app_lists_runs_and_shows_details(small_runs, voila_app, app_page):
    root, run_id = small_runs.upto("01_data_validation")
    app = voila_app("runs", project=root)
    page = app_page(app.url, wait_for=".wb-runs tr.wb-run-row")
    rows = page.locator("tr.wb-run-row")
    assert rows.count() >= 1
    page.click(f"tr.wb-run-row[data-run='{run_id}']")
    # the newest run's details are shown from the start: wait for the clicked run's to arrive
    page.locator(".wb-runs-detail .wb-title", has_text=f"Run {run_id}").wait_for()
    page.wait_for_selector(".wb-runs-detail .wb-table")
    detail = page.inner_text(".wb-runs-detail")
    assert f"Run {run_id}" in detail and "01_data_validation" in detail
