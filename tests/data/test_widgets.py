"""The data-validation widgets' Python side: state, static pictures, the schema editor's save."""

from __future__ import annotations

import pytest

from workbench.data.baseline import bundled_schema_path
from workbench.data.schema import read_schema, schema_feature
from workbench.data.stats import compute_statistics
from workbench.widgets import (
    AnomaliesView,
    DriftView,
    SchemaEditor,
    StatisticsProgress,
    StatisticsView,
)


@pytest.fixture(scope="module")
def fraud_schema():
    return read_schema(bundled_schema_path("fraud"))


def test_statistics_view_state_and_picture(fraud_table):
    view = StatisticsView({"train": compute_statistics(fraud_table.slice(0, 3000)),
                           "eval": compute_statistics(fraud_table.slice(3000))},
                          flagged={"amount": "ERROR"})
    assert view.data["datasets"] == ["train", "eval"]
    html = view.static_html()
    assert "numeric features (8)" in html and "categorical features (5)" in html
    assert "customer_age" in html and "&#9888;" in html  # the flagged feature is marked
    assert "<script" not in html
    data, _ = view._repr_mimebundle_()
    assert data["text/html"] == html and "application/vnd.jupyter.widget-view+json" in data


def test_schema_editor_saves_edits_to_pbtxt(tmp_path, fraud_schema):
    target = tmp_path / "schemas" / "fraud.pbtxt"
    editor = SchemaEditor(fraud_schema, path=target, editable=True)
    # what the Save button sends from the browser
    editor._on_message(editor, {"event": "save", "rows": [
        {"name": "customer_age", "min": 0, "max": 130}]}, [])
    assert "saved to" in editor.status
    saved = read_schema(target)
    assert schema_feature(saved, "customer_age").int_domain.max == 130
    assert next(r for r in editor.rows if r["name"] == "customer_age")["max"] == 130
    editor.save([{"name": "customer_age", "min": 9, "max": 1}])
    assert editor.status.startswith("not saved: feature 'customer_age': the minimum 9")
    assert schema_feature(read_schema(target), "customer_age").int_domain.max == 130


def test_schema_editor_is_read_only_in_view_mode(tmp_path, fraud_schema):
    editor = SchemaEditor(fraud_schema, path=tmp_path / "s.pbtxt", editable=False)
    assert editor.save() is None and "read-only" in editor.status
    assert not (tmp_path / "s.pbtxt").exists()
    assert not SchemaEditor(fraud_schema, editable=True).editable  # nowhere to save
    assert "customer_age" in editor.static_html()


def test_anomalies_drift_and_progress_pictures():
    rows = [{"feature": "age", "dataset": "data", "severity": "ERROR",
             "type": "INT_TYPE_SMALL_INT", "short": "Out-of-range values",
             "description": "3 of 10 values are below 0", "expected": ">= 0",
             "found": "lowest -2", "count": 3, "share": 0.3, "rows": [1]}]
    html = AnomaliesView(rows, gate={"passed": False}).static_html()
    assert "1 error(s)" in html and "INT_TYPE_SMALL_INT" in html
    assert "No anomalies" in AnomaliesView([]).static_html()
    drift = {"notes": ["No baseline: drift was not checked."], "comparisons": []}
    assert "No baseline" in DriftView(drift).static_html()
    drift["comparisons"] = [{"feature": "amount", "kind": "drift", "metric": "JENSEN_SHANNON_DIVERGENCE",
                             "value": 0.27, "threshold": 0.1, "exceeded": True}]
    assert "above threshold" in DriftView(drift).static_html()
    progress = StatisticsProgress().show()  # outside a kernel the picture goes to stdout
    progress.update(250, 1000)
    assert (progress.done, progress.total) == (250, 1000)
    assert "250 of 1,000 rows (25%)" in progress.static_html()
    progress.update(1000, 1000)  # the end refreshes the displayed picture
    assert "1,000 of 1,000 rows (100%)" in progress.static_html()
