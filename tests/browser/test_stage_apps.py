"""Stage notebooks served as Voila apps, checked in a real browser."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def finished_run(small_runs):
    return small_runs.upto("01_data_validation")


def test_data_validation_app_shows_the_run(finished_run, voila_app, app_page):
    root, run_id = finished_run
    app = voila_app("01_data_validation", project=root, run=run_id)
    page = app_page(app.url, wait_for=".wb-data-card table")
    assert run_id in page.inner_text("body")
    assert "3,000 rows" in page.inner_text(".wb-data-card")
    # the table is live: filtering narrows it
    page.fill(".wb-data-card input[type=search]", "amount")
    page.wait_for_function(
        "document.querySelectorAll('.wb-data-card table tr').length === 2")


def test_query_string_picks_the_run(finished_run, voila_app, app_page):
    root, run_id = finished_run
    app = voila_app("01_data_validation", project=root)
    page = app_page(f"{app.url}?run={run_id}", wait_for=".wb-data-card")
    assert run_id in page.inner_text("body")
