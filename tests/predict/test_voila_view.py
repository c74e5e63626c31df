"""07_bulk_inference renders as a Voila view (``workbench app 07_bulk_inference --run RUN``) in
headless Chromium: what was scored, the prediction distribution and the rejects, read-only."""

from __future__ import annotations

import pytest

from tests.browser.conftest import app_page, voila_app  # noqa: F401 - the browser fixtures
from workbench.bulk.stage import BulkInferenceParams, score_data
from workbench.runs.step import Step

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_bulk_inference_stage_renders_as_a_voila_view(exported, voila_app,  # noqa: F811
                                                           app_page):  # noqa: F811
    run = exported.run
    if not run.record().done("07_bulk_inference"):
        step = Step(run, "07_bulk_inference", "compute")
        score_data(step, BulkInferenceParams())
        step.finish()
    project = exported.store.root.parent
    if not (project / "workbench.yaml").is_file():
        (project / "workbench.yaml").write_text("runs_dir: runs\n")
    app = voila_app("07_bulk_inference", project=project, run=run.id)
    page = app_page(app.url, wait_for=".wb-panel")
    text = page.inner_text("#rendered_cells")
    assert "Scored" in text and "Predicted classes" in text, text[:2000]
