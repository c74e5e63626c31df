"""02_tune renders as a Voila view (``workbench app 02_tune --run RUN``) in headless Chromium:
the finished search, read-only, with its trials and the best so far."""

from __future__ import annotations

import pytest

from tests.browser.conftest import app_page, voila_app  # noqa: F401 - the browser fixtures
from workbench.runs.step import Step
from workbench.tune.stage import TuneParams, tune

from .conftest import SMALL

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_tuning_stage_renders_as_a_voila_view(run, voila_app, app_page):  # noqa: F811
    if not run.record().done("02_tune"):
        step = Step(run, "02_tune", "compute")
        tune(step, TuneParams(**SMALL, algorithm="random", max_trials=2))
        step.finish()
    project = run.path.parent.parent
    app = voila_app("02_tune", project=project, run=run.id)
    page = app_page(app.url, wait_for=".wb-panel")
    text = page.inner_text("#rendered_cells")
    assert "Best so far" in text and "trial" in text, text[:2000]
