"""Stage 01 as a Voila app in a real browser: statistics, anomalies, drift and the read-only
schema editor render from installed files, react to input, and show a failed gate's reasons."""

from __future__ import annotations

import pytest

from workbench.data.params import DataValidationParams

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def clean_run(small_runs):
    return small_runs.upto("01_data_validation")


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    """A project with one run whose data stopped at the data_validation gate (computed by the
    stage functions in this process: the app only reads the step's artifacts)."""
    from workbench.data.stage import ingest, validate
    from workbench.runs.step import Step
    from workbench.runs.store import RunStore

    root = tmp_path_factory.mktemp("faulty-data")
    (root / "workbench.yaml").write_text("runs_dir: runs\n")
    run = RunStore(root / "runs").create(state="gate_failed")
    step = Step(run, "01_data_validation", "compute")
    data = ingest(step, DataValidationParams(rows=2000, faults=["negative_ages", "unseen_categories"]), project_root=root)
    assert not validate(step, data, project_root=root).passed
    step.finish()
    return root, run.id


def test_statistics_anomalies_drift_and_schema_render(clean_run, voila_app, app_page):
    root, run_id = clean_run
    app = voila_app("01_data_validation", project=root, run=run_id)
    page = app_page(app.url, wait_for=".wb-stats table")
    # the page shows the run it was asked for, and its data card is live
    assert run_id in page.inner_text("body")
    assert "3,000 rows" in page.inner_text(".wb-data-card")
    page.fill(".wb-data-card input[type=search]", "amount")
    page.wait_for_function(
        "document.querySelectorAll('.wb-data-card table tr').length === 2")
    stats = page.locator(".wb-stats")
    assert "Numeric features" in stats.inner_text()
    assert "Categorical features" in stats.inner_text()
    # train and eval overlaid: every histogram has bars of both datasets
    hist = page.locator(".wb-stats tr:has(td:text-is('amount')) svg").first
    assert hist.locator("rect[fill='#4c78a8']").count() > 0
    assert hist.locator("rect[stroke='#f58518']").count() > 0
    # search narrows the features; sorting and log scale redraw without errors
    page.fill(".wb-stats input[type=search]", "country")
    page.wait_for_function(
        "document.querySelectorAll('.wb-stats table tr').length === 2")
    page.select_option(".wb-stats select >> nth=2", "missing_pct")
    page.check(".wb-stats input[type=checkbox]")
    assert "No anomalies" in page.inner_text(".wb-anomalies")
    assert "No baseline" in page.inner_text(".wb-drift")
    # the schema editor is read-only in view mode: no save button, inputs disabled
    editor = page.locator(".wb-schema")
    assert "read-only" in editor.inner_text()
    assert editor.locator("button:visible").count() == 0
    assert editor.locator("textarea").first.is_disabled()
    assert "customer_age" in editor.inner_text()


def test_query_string_picks_the_run(clean_run, voila_app, app_page):
    root, run_id = clean_run
    app = voila_app("01_data_validation", project=root)
    page = app_page(f"{app.url}?run={run_id}", wait_for=".wb-data-card")
    assert run_id in page.inner_text("body")


def test_failed_gate_shows_the_anomalies(faulty_run, voila_app, app_page):
    root, run_id = faulty_run
    app = voila_app("01_data_validation", project=root, run=run_id)
    page = app_page(app.url, wait_for=".wb-anomalies table")
    text = page.inner_text(".wb-anomalies")
    assert "customer_age" in text and "below the schema minimum 18" in text
    assert "merchant_category" in text and "crypto_exchange" in text
    assert "ENUM_TYPE_UNEXPECTED_STRING_VALUES" in text
    # flagged features are marked in the statistics view (the mark follows the feature's name
    # in its cell)
    flagged = page.locator(".wb-stats .wb-flag").evaluate_all(
        "marks => marks.map(m => m.parentElement.firstChild.textContent)")
    assert {"customer_age", "merchant_category"} <= set(flagged), flagged
    # the gate banner names the failure
    assert "gate data_validation failed" in page.inner_text("body")
    page.select_option(".wb-anomalies select", "WARNING")
    page.wait_for_function(
        "document.querySelectorAll('.wb-anomalies table tr').length === 1")


def test_schema_editor_saves_from_the_browser(tmp_path, voila_app, app_page):
    """In a live session the Save button sends the edits to Python, which writes the file;
    the progress bar draws its state."""
    import nbformat

    from workbench.data.schema import read_schema, schema_feature

    target = tmp_path / "edited.pbtxt"
    (tmp_path / "workbench.yaml").write_text("runs_dir: runs\n")
    notebook = tmp_path / "edit_schema.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from workbench.data.baseline import bundled_schema_path\n"
        "from workbench.data.schema import read_schema\n"
        "from workbench.widgets import SchemaEditor\n\n"
        "SchemaEditor(read_schema(bundled_schema_path('fraud')), "
        f"path={str(target)!r}, editable=True)"), nbformat.v4.new_code_cell(
        "from workbench.widgets import StatisticsProgress\n\n"
        "progress = StatisticsProgress('statistics')\n"
        "progress.update(2_500_000, 10_000_000)\n"
        "progress")]), notebook)
    app = voila_app(str(notebook), project=tmp_path)
    page = app_page(app.url, wait_for=".wb-schema table")
    assert page.inner_text(".wb-progress").startswith(
        "statistics: 2,500,000 of 10,000,000 rows (25%)")
    assert page.locator(".wb-progress .wb-fill").evaluate("e => e.style.width") == "60px"
    row = page.locator(".wb-schema tr:has(td:text-is('customer_age'))")
    row.locator("input[type=number]").first.fill("21")
    row.locator("input[type=number]").first.press("Tab")
    page.locator(".wb-schema tr:has(td:text-is('country')) textarea").fill("DE, FR, XX")
    page.locator(".wb-schema tr:has(td:text-is('country')) textarea").press("Tab")
    page.click("text=Save schema")
    page.wait_for_function(
        "document.querySelector('.wb-schema .wb-status').textContent.startsWith('saved to')")
    saved = read_schema(target)
    assert schema_feature(saved, "customer_age").int_domain.min == 21
    assert list(saved.string_domain[1].value) == ["DE", "FR", "XX"]
