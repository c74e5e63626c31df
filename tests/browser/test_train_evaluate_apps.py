"""Stages 02 and 03 as Voila apps in a real browser: training curves, model summary, metrics by
slice, curves, confusion matrix and blessing render from installed files and react to input."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def evaluated_run(small_runs):
    return small_runs.upto("03_evaluate")


def test_train_app_shows_the_training_curves_and_the_model(evaluated_run, voila_app,
                                                           app_page):
    root, run_id = evaluated_run
    app = voila_app("02_train", project=root, run=run_id)
    page = app_page(app.url, wait_for=".wb-training svg polyline")
    training = page.locator(".wb-training").first
    assert "finished: epoch 3 of 3" in training.inner_text()
    titles = training.locator(".wb-chart-title").all_inner_texts()
    assert {"loss", "auc", "accuracy"} <= set(titles)
    # training and validation lines in every chart, with a point per epoch
    assert page.locator(".wb-training svg polyline").count() == 2 * len(titles)
    assert page.locator(".wb-training svg circle").count() == 3 * 2 * len(titles)
    summary = page.locator(".wb-model-summary").inner_text()
    assert "is_fraud" in summary and "merchant_category" in summary
    assert "vocabulary of" in summary and "normalize" in summary
    assert f"workbench tensorboard {run_id}" in page.inner_text("body")


def test_evaluate_app_shows_blessing_slices_curves_and_confusion(evaluated_run, voila_app,
                                                                 app_page):
    root, run_id = evaluated_run
    app = voila_app("03_evaluate", project=root, run=run_id)
    page = app_page(app.url, wait_for=".wb-confusion table td")
    assert "blessed" in page.locator(".wb-blessing .wb-verdict").inner_text()
    assert "auc" in page.locator(".wb-blessing table").inner_text()
    # metrics by slice: overall plus every slice; the feature filter narrows the table
    metrics = page.locator(".wb-metrics")
    rows = metrics.locator("table tr")
    total = rows.count()
    assert total > 10 and "overall" in rows.nth(1).inner_text()
    metrics.locator("select").select_option("channel")
    page.wait_for_function("document.querySelectorAll('.wb-metrics table tr').length < "
                           f"{total}")
    texts = metrics.locator("table tr td:first-child").all_inner_texts()
    assert texts[0] == "overall" and all(t.startswith("channel=") for t in texts[1:])
    # sorting by examples puts the biggest slice first (the overall row stays on top)
    metrics.locator("th", has_text="examples").click()
    counts = [int(t.replace(",", "")) for t in
              metrics.locator("table tr td:nth-child(2)").all_inner_texts()]
    assert counts == sorted(counts, reverse=True)
    # ROC, precision-recall and calibration curves
    titles = page.locator(".wb-curves .wb-chart-title").all_inner_texts()
    assert titles == ["ROC", "Precision-recall", "Calibration"]
    assert page.locator(".wb-curves svg polyline").count() >= 3
    # the confusion matrix switches between counts and shares of the actual class
    confusion = page.locator(".wb-confusion")
    assert confusion.locator("td.wb-cell").count() == 4
    confusion.locator("select").nth(1).select_option("rows")
    assert "%" in confusion.locator("td.wb-cell").first.inner_text()
