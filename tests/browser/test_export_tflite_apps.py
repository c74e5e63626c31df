"""Stages 04 and 05 as Voila apps in a real browser: signatures, checks and metadata of the
export; the TFLite variants against the SavedModel, sortable, with the rule selector."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def converted_run(small_runs):
    return small_runs.upto("05_tflite")


def test_export_app_shows_signatures_checks_and_metadata(converted_run, voila_app, app_page):
    root, run_id = converted_run
    app = voila_app("04_export", project=root, run=run_id)
    page = app_page(app.url, wait_for=".wb-export details[open] .wb-signature-table")
    export = page.locator(".wb-export").first
    assert "all checks passed" in export.locator(".wb-export-status").inner_text()
    assert "integrity now: all" in export.locator(".wb-integrity-now").inner_text()
    # serving_default is open: raw features by name, 1-D, with their dtypes
    default = export.locator("details.wb-signature").filter(has_text="serving_default")
    rows = default.locator("table tr").all_inner_texts()
    assert any("amount" in r and "float32" in r and "[None]" in r for r in rows)
    assert any("country" in r and "string" in r for r in rows)
    assert any("probabilities" in r and "[None, 2]" in r for r in rows)
    # the classify signature opens on click and shows TF Serving's method and tensors
    classify = export.locator("details.wb-signature").filter(has_text="classify")
    assert "tensorflow/serving/classify" in classify.locator("summary").inner_text()
    assert not classify.locator("table").is_visible()
    classify.locator("summary").click()
    assert classify.locator("table").is_visible()
    assert "scores" in classify.locator("table").inner_text()
    checks = export.locator("table.wb-checks").inner_text()
    for name in ("tf1_loader", "tf2_load", "saved_model_cli", "parity", "warmup", "integrity"):
        assert name in checks
    facts = export.locator("table.wb-facts").inner_text()
    assert run_id in facts and "pending" in facts and "20 records" in facts
    assert "gate export_checks passed" in page.inner_text("body")


def test_tflite_app_compares_variants_and_rules(converted_run, voila_app, app_page):
    root, run_id = converted_run
    app = voila_app("05_tflite", project=root, run=run_id)
    page = app_page(app.url, wait_for=".wb-tflite table.wb-variants tr.wb-variant")
    view = page.locator(".wb-tflite").first
    names = view.locator("tr.wb-variant td:first-child").all_inner_texts()
    assert [n.rstrip(" \u2605") for n in names] == ["float32", "dynamic", "float16", "int8"]
    recommended = view.locator(".wb-recommended-name").inner_text()
    assert view.locator("tr.wb-recommended").get_attribute("data-variant") == recommended
    assert "SavedModel (in process)" in view.locator("tr.wb-reference").inner_text()
    # sorting by size orders the variants by their file size
    report = json.loads((root / "runs" / run_id / "05_tflite" / "tflite_report.json")
                        .read_text())
    by_size = [v["name"] for v in sorted(report["variants"], key=lambda v: v["size_bytes"])]
    view.locator("th", has_text="size").first.click()
    order = view.locator("tr.wb-variant").evaluate_all("rows => rows.map(r => r.dataset.variant)")
    assert order == by_size
    # another rule: the selector says which variant it would pick
    view.locator("select.wb-rule").select_option("most_accurate")
    pick = view.locator(".wb-rule-pick").inner_text()
    assert pick.startswith("would pick ")
    view.locator("select.wb-rule").select_option("int8")
    assert view.locator(".wb-rule-pick").inner_text() == "would pick int8"
    assert "gate tflite_accuracy passed" in page.inner_text("body")
