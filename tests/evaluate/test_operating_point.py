"""The decision threshold: each rule picks the point it promises, on the selection half."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import ParameterError
from workbench.evaluate.operating_point import choose_threshold, operating_point, selection_mask
from workbench.evaluate.params import EvaluateParams
from workbench.evaluate.uncertainty import bootstrap_intervals


def _data(n: int = 4000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.05).astype(int)
    p = np.clip(0.03 + 0.5 * y * rng.random(n) + 0.2 * rng.random(n) ** 3, 0, 1)
    return y, p


def test_selection_half_is_seeded_and_half():
    a, b = selection_mask(101, 0), selection_mask(101, 0)
    assert (a == b).all() and a.sum() == 51


def test_recall_rule_reaches_the_target_on_selection_rows():
    y, p = _data()
    point = choose_threshold(y, p, "recall", target_recall=0.8)
    assert point["selection"]["recall"] >= 0.8
    assert point["rows"]["selection"] + point["rows"]["check"] == len(y)
    assert "half of the eval split" in point["rows"]["how"]


def test_precision_and_alert_rate_rules():
    y, p = _data()
    assert choose_threshold(y, p, "precision", target_precision=0.6)["selection"][
        "precision"] >= 0.6
    assert choose_threshold(y, p, "alert_rate", max_alert_rate=0.03)["selection"][
        "alert_rate"] <= 0.03


def test_cost_rule_minimises_weighted_errors():
    y, p = _data()
    point = choose_threshold(y, p, "cost", cost_fn_fp=10)
    mask = selection_mask(len(y))
    best = min(10 * operating_point(y[mask], p[mask], t)["fn"]
               + operating_point(y[mask], p[mask], t)["fp"] for t in np.unique(p[mask]))
    got = point["selection"]
    assert 10 * got["fn"] + got["fp"] == best
    # a higher cost of a miss never lowers recall
    assert choose_threshold(y, p, "cost", cost_fn_fp=50)["selection"]["recall"] >= got["recall"]


def test_fixed_rule_and_unreachable_target_says_so():
    y, p = _data()
    assert choose_threshold(y, p, "fixed", fixed=0.3)["threshold"] == 0.3
    point = choose_threshold(y, np.zeros_like(p) + 0.1, "precision", target_precision=0.99)
    assert "no threshold reaches precision" in point["note"]


def test_parameters_are_checked():
    with pytest.raises(ParameterError, match="target_recall"):
        EvaluateParams(target_recall=1.5)
    with pytest.raises(ParameterError, match="decision_rule"):
        EvaluateParams(decision_rule="magic")
    with pytest.raises(ParameterError, match="cost_fn_fp"):
        EvaluateParams(cost_fn_fp=0)


def test_bootstrap_interval_contains_the_point_estimate():
    y, p = _data(2000)
    ci = bootstrap_intervals("binary", y, p, threshold=0.3, resamples=100)
    auc = ci["metrics"]["auc"]
    assert auc["low"] < auc["high"]
    from workbench.evaluate.metrics import binary_metrics

    assert auc["low"] <= binary_metrics(y, p, 0.3)["auc"] <= auc["high"]
