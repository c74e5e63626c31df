"""Metrics against scikit-learn, slices, and the evaluation document."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics as skm

from workbench.evaluate.evaluator import evaluate_predictions, metrics_by_slice
from workbench.evaluate.metrics import (
    binary_metrics,
    confusion,
    curves,
    metric_names,
    metrics_for,
    multiclass_metrics,
    regression_metrics,
)
from workbench.evaluate.slicing import MISSING, choose_slice_features, slices_of


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(0)


def test_binary_metrics_match_scikit_learn(rng) -> None:
    y = (rng.random(5000) < 0.2).astype(float)
    p = np.round(np.clip(0.3 * y + 0.7 * rng.random(5000), 0, 1), 2)  # with ties
    m = binary_metrics(y, p, threshold=0.5)
    pred = p >= 0.5
    assert m["auc"] == pytest.approx(skm.roc_auc_score(y, p), abs=1e-6)
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, p), abs=1e-6)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, p), rel=1e-4)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-6)
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred), abs=1e-6)
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred), abs=1e-6)
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-6)
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, p), abs=1e-6)
    assert m["calibration"] == pytest.approx(p.mean() / y.mean(), rel=1e-5)
    assert set(m) == set(metric_names("binary"))


def test_binary_metrics_of_one_class_are_none_not_errors() -> None:
    m = binary_metrics(np.zeros(10), np.linspace(0, 0.4, 10))
    assert m["auc"] is None and m["pr_auc"] is None and m["recall"] is None
    assert m["accuracy"] == 1.0


def test_multiclass_metrics_match_scikit_learn(rng) -> None:
    y = rng.integers(0, 3, 3000)
    logits = rng.normal(size=(3000, 3)) + 1.5 * np.eye(3)[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    m = multiclass_metrics(y, p, ["a", "b", "c"], top_k=2)
    pred = p.argmax(axis=1)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-6)
    assert m["top_k_accuracy"] == pytest.approx(skm.top_k_accuracy_score(y, p, k=2), abs=1e-6)
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, p), rel=1e-4)
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=1e-6)
    assert m["weighted_f1"] == pytest.approx(skm.f1_score(y, pred, average="weighted"),
                                             abs=1e-6)
    assert m["recall/b"] == pytest.approx(skm.recall_score(y, pred, average=None)[1], abs=1e-6)
    assert set(m) == set(metric_names("multiclass", ["a", "b", "c"], 2))


def test_regression_metrics_match_scikit_learn(rng) -> None:
    y = rng.normal(100, 20, 2000)
    p = y + rng.normal(0, 5, 2000)
    m = regression_metrics(y, p)
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-6)
    assert m["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(y, p)), rel=1e-6)
    assert m["r2"] == pytest.approx(skm.r2_score(y, p), rel=1e-6)


def test_curves_and_confusion() -> None:
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.array([0.1, 0.6, 0.7, 0.9, 0.4, 0.2])
    c = curves("binary", y, p)
    assert c["roc"]["fpr"][0] == 0.0 and c["roc"]["tpr"][-1] == 1.0
    assert sum(c["calibration"]["count"]) == 6
    cm = confusion("binary", y, p, classes=[0, 1], threshold=0.5)
    assert cm["matrix"] == [[2, 1], [1, 2]] and cm["labels"] == ["0", "1"]
    three = confusion("multiclass", np.array([0, 2]), np.eye(3)[[0, 1]], classes=["a", "b", "c"])
    assert three["matrix"][2][1] == 1
    assert "residuals" in curves("regression", np.ones(5), np.arange(5.0))


def test_slices_by_value_bucket_and_missing() -> None:
    table = pa.table({"c": ["a", "b", "a", None, "", "a"],
                      "x": [1.0, 2.0, 3.0, 4.0, None, 6.0],
                      "flag": [0, 1, 0, 1, 0, 1]})
    cats = {s.value: s.index.tolist() for s in slices_of(table, "c")}
    assert cats == {"a": [0, 2, 5], "b": [1], MISSING: [3, 4]}
    buckets = list(slices_of(table, "x", buckets=2))
    assert [s.count for s in buckets] == [2, 3, 1] and buckets[-1].value == MISSING
    assert [s.value for s in buckets[:2]] == ["[1, 3)", "[3, 6]"]
    assert buckets[0].name.startswith("x=[1, ")
    assert [s.value for s in slices_of(table, "flag")] == ["0", "1"]


def test_default_slice_features_are_the_categorical_ones() -> None:
    table = pa.table({"a": [1.0], "b": ["x"], "c": ["y"]})
    features = [{"name": "a", "kind": "numeric"}, {"name": "b", "kind": "categorical"},
                {"name": "c", "kind": "categorical"}]
    assert choose_slice_features([], table, features) == ["b", "c"]
    assert choose_slice_features([], table, features[:1]) == ["a"]
    from workbench.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot slice by nope") as err:
        choose_slice_features(["nope"], table, features)
    assert "a, b, c" in err.value.hint


def test_evaluation_document_has_every_slice_with_counts(rng) -> None:
    n = 4000
    table = pa.table({"country": rng.choice(["DE", "FR", "NL"], n),
                      "amount": rng.lognormal(3, 1, n)})
    y = (rng.random(n) < 0.3).astype(float)
    p = np.clip(0.4 * y + 0.6 * rng.random(n), 0, 1)
    doc = evaluate_predictions("binary", y, p, table=table,
                               slice_features=["country", "amount"], classes=[0, 1])
    names = metrics_by_slice(doc)
    assert {"overall", "country=DE", "country=FR", "country=NL"} <= set(names)
    assert sum(s["count"] for s in doc["slices"] if s["feature"] == "country") == n
    assert sum(s["count"] for s in doc["slices"] if s["feature"] == "amount") == n
    de = table.column("country").to_numpy(zero_copy_only=False) == "DE"
    assert names["country=DE"]["auc"] == pytest.approx(skm.roc_auc_score(y[de], p[de]),
                                                       abs=1e-6)
    assert doc["overall"]["metrics"] == metrics_for("binary", y, p)
