"""Training and evaluation widgets without a kernel: synced state and static pictures."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from workbench.evaluate.evaluator import evaluate_predictions
from workbench.evaluate.thresholds import check_thresholds, load_thresholds
from workbench.widgets import (
    BlessingView,
    ConfusionMatrixView,
    CurvesView,
    MetricsTable,
    TrainingView,
    model_summary,
)


@pytest.fixture(scope="module")
def evaluation() -> dict:
    rng = np.random.default_rng(0)
    n = 600
    table = pa.table({"channel": rng.choice(["pos", "online"], n)})
    y = (rng.random(n) < 0.3).astype(float)
    doc = evaluate_predictions("binary", y, np.clip(0.5 * y + 0.5 * rng.random(n), 0, 1),
                               table=table, slice_features=["channel"], classes=[0, 1])
    base = evaluate_predictions("binary", y, rng.random(n), table=table,
                                slice_features=["channel"], classes=[0, 1])
    doc["baseline"] = {"model_sha256": "ab" * 32, "builder": "linear",
                       "overall": base["overall"], "slices": base["slices"],
                       "curves": base["curves"],
                       "confusion_matrix": base["confusion_matrix"]}
    return doc


def test_training_view_grows_per_epoch_and_keeps_a_final_picture() -> None:
    view = TrainingView(planned=3)
    assert "waiting for the first epoch" in view.static_html()
    view.add_epoch(1, {"loss": 0.6, "val_loss": 0.7, "auc": 0.7})
    view.add_epoch(2, {"loss": 0.5, "val_loss": 0.6, "auc": 0.8})
    assert view.history["epochs"] == [1, 2] and view.history["metrics"]["loss"] == [0.6, 0.5]
    assert view.status == "training"
    view.finish({"epochs": [1, 2], "metrics": view.history["metrics"], "epochs_planned": 3,
                 "best_epoch": 2, "stopped_early": True})
    html = view.static_html()
    assert view.status == "finished" and "<img" in html and "data:image/png;base64," in html
    assert "best epoch 2" in html and "stopped early" in html
    data, _ = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data


def test_model_summary_lists_features_preprocessing_and_dropped_columns() -> None:
    info = {"task": "binary", "label": "y", "builder": "dnn", "classes": [0, 1],
            "output": {"meaning": "probability of class 1"},
            "features": [{"name": "amount", "kind": "numeric", "dtype": "float32",
                          "mean": 10.0, "variance": 4.0, "fill": 10.0,
                          "missing_indicator": True},
                         {"name": "country", "kind": "categorical", "dtype": "string",
                          "vocabulary_size": 11, "oov_buckets": 1}],
            "dropped": [{"name": "tx_id", "reason": "ID-like: 3,000 distinct values"}]}
    html = model_summary(info).data
    assert "normalize (mean 10, variance 4); missing → 10 + flag" in html
    assert "vocabulary of 11 + 1 out-of-vocabulary bucket(s)" in html
    assert "tx_id" in html and "ID-like" in html


def test_metrics_table_rows_carry_the_baseline(evaluation) -> None:
    table = MetricsTable(evaluation)
    assert [r["name"] for r in table.rows][:1] == ["overall"]
    assert {r["name"] for r in table.rows} == {"overall", "channel=pos", "channel=online"}
    assert table.rows[0]["baseline"]["auc"] == evaluation["baseline"]["overall"]["metrics"][
        "auc"]
    assert table.higher_is_better["auc"] is True and table.higher_is_better["log_loss"] is False
    assert "Δ" in table.static_html()


def test_confusion_curves_and_blessing_pictures(evaluation) -> None:
    cm = ConfusionMatrixView(evaluation)
    assert len(cm.matrix) == 2 and cm.baseline_matrix and cm.threshold == 0.5
    assert "actual \\ predicted" in cm.static_html()
    regression = {**evaluation, "confusion_matrix": None}
    assert "none for regression" in ConfusionMatrixView(regression).static_html()
    curves = CurvesView(evaluation, baseline_run="20260101-000000-abcd")
    assert set(curves.curves) == {"roc", "pr", "calibration"} and curves.baseline_curves
    assert "<img" in curves.static_html()
    specs = load_thresholds({"auc": {"lower": 0.99, "change": {"absolute": -0.01}}})
    checks = check_thresholds(specs, {"overall": evaluation["overall"]["metrics"]},
                              {"overall": evaluation["baseline"]["overall"]["metrics"]},
                              metric_names=list(evaluation["overall"]["metrics"]))
    blessing = {"blessed": False, "candidate": {"model_sha256": "cd" * 32, "builder": "dnn"},
                "baseline": {"model_sha256": "ab" * 32, "builder": "linear"},
                "checks": checks}
    html = BlessingView(blessing, baseline_run="20260101-000000-abcd").static_html()
    assert "not blessed" in html and "20260101-000000-abcd" in html
    assert html.index("&#10008;") < html.index("&#10004;"), "failed checks first"
