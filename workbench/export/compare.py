"""Comparing TFLite variants with the SavedModel: task metrics, agreement, the recommended
variant by a rule the user picks (one registry shape; add a rule with :func:`register_rule`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from workbench.errors import ParameterError
from workbench.export.contract import ModelInfo
from workbench.registry import Registry

__all__ = [
    "PRIMARY",
    "agreement",
    "metric_drop",
    "primary_metric",
    "recommend",
    "register_rule",
    "rules",
    "task_metrics",
]

#: The metric the gate watches, per task, and whether higher is better.
PRIMARY = {"binary": ("auc", True), "multiclass": ("accuracy", True),
           "regression": ("rmse", False)}


def task_metrics(outputs: Mapping[str, np.ndarray], y: np.ndarray, info: ModelInfo
                 ) -> dict[str, float]:
    """The task's metrics on labelled rows (rows with NaN predictions count as wrong)."""
    from sklearn import metrics as skm

    if not info.is_classification:
        pred = np.asarray(outputs["value"], dtype=float)
        ok = ~np.isnan(pred)
        err = pred[ok] - y[ok]
        return {"rmse": float(np.sqrt(np.mean(err ** 2))) if ok.any() else float("nan"),
                "mae": float(np.mean(np.abs(err))) if ok.any() else float("nan"),
                "rows": int(len(y))}
    probs = np.asarray(outputs["probabilities"], dtype=float)
    probs = np.nan_to_num(probs, nan=1.0 / probs.shape[1])
    pred = probs.argmax(axis=1)
    out = {"accuracy": float(np.mean(pred == y)), "rows": int(len(y))}
    if info.task == "binary":
        if len(np.unique(y)) == 2:
            out["auc"] = float(skm.roc_auc_score(y, probs[:, 1]))
        else:
            out["auc"] = float("nan")
        out["log_loss"] = float(skm.log_loss(y, np.clip(probs[:, 1], 1e-7, 1 - 1e-7),
                                             labels=[0, 1]))
    else:
        out["macro_f1"] = float(skm.f1_score(y, pred, average="macro", zero_division=0))
    return out


def primary_metric(info: ModelInfo, metric: str = "") -> tuple[str, bool]:
    if not metric:
        return PRIMARY[info.task]
    higher = {"auc": True, "accuracy": True, "macro_f1": True, "log_loss": False,
              "rmse": False, "mae": False}
    if metric not in higher:
        raise ParameterError(f"unknown metric '{metric}'", parameter="metric",
                             hint=f"use one of: {', '.join(sorted(higher))} (or empty for "
                                  f"the task's default, {PRIMARY[info.task][0]})")
    return metric, higher[metric]


def metric_drop(reference: float, value: float, higher_is_better: bool) -> float:
    """How much worse ``value`` is, in points: percentage points for scores in [0, 1];
    percent of the reference for errors (RMSE, MAE, log loss)."""
    if np.isnan(reference) or np.isnan(value):
        return float("nan")
    if higher_is_better:
        return float((reference - value) * 100.0)
    return float((value - reference) / max(abs(reference), 1e-12) * 100.0)


def agreement(outputs: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray],
              info: ModelInfo, *, rtol: float = 0.01) -> float:
    """Share of rows whose predicted class equals the SavedModel's (regression: whose value is
    within ``rtol`` of the SavedModel's, relative to the value or to its spread)."""
    if info.is_classification:
        a = np.asarray(outputs["probabilities"]).argmax(axis=1)
        b = np.asarray(reference["probabilities"]).argmax(axis=1)
        return float(np.mean(a == b)) if len(a) else float("nan")
    a = np.asarray(outputs["value"], dtype=float)
    b = np.asarray(reference["value"], dtype=float)
    scale = np.maximum(np.abs(b), np.nanstd(b) if len(b) > 1 else 1.0)
    return float(np.mean(np.abs(a - b) <= rtol * scale)) if len(a) else float("nan")


# -- the recommendation rule -------------------------------------------------------------------

Rule = Callable[[list[dict[str, Any]]], dict[str, Any]]
_RULES: Registry[Rule] = Registry("recommendation rule")


def register_rule(name: str, rule: Rule) -> Rule:
    """Add a rule: it gets the variants within the threshold (never empty) and picks one."""
    return _RULES.register(name, rule)


def rules() -> list[str]:
    return _RULES.names()


def _lat(v: dict[str, Any], batch: str) -> float:
    return float((v.get("latency", {}).get(batch) or {}).get("median_ms", float("inf")))


register_rule("smallest", lambda vs: min(vs, key=lambda v: (v["size_bytes"], _lat(v, "1"))))
register_rule("fastest", lambda vs: min(vs, key=lambda v: (_lat(v, "1"), v["size_bytes"])))
register_rule("fastest_batch64",
              lambda vs: min(vs, key=lambda v: (_lat(v, "64"), v["size_bytes"])))
register_rule("most_accurate", lambda vs: min(vs, key=lambda v: (v["drop"], v["size_bytes"])))


RULE_DESCRIPTIONS = {
    "smallest": "the smallest file among the variants within the accuracy threshold",
    "fastest": "the lowest median latency at batch 1 among the variants within the threshold",
    "fastest_batch64": "the lowest median latency at batch 64 within the threshold",
    "most_accurate": "the smallest metric drop versus the SavedModel",
}


def recommend(variants: list[dict[str, Any]], rule: str, threshold: float
              ) -> tuple[dict[str, Any] | None, str]:
    """The recommended variant and a sentence saying why.

    ``rule`` is a registered rule name or a variant name (that variant, whatever it scores).
    Only variants whose drop is within ``threshold`` qualify; if none does, the one with the
    smallest drop is returned (and the gate fails).
    """
    if not variants:
        return None, "no variant was converted"
    names = {v["name"]: v for v in variants}
    if rule in names:
        return names[rule], f"variant '{rule}' was chosen by the recommend parameter"
    if rule not in _RULES:
        raise ParameterError(f"unknown recommendation rule '{rule}'", parameter="recommend",
                             hint=f"use a rule ({', '.join(rules())}) or a variant name "
                                  f"({', '.join(names)})")
    ok = [v for v in variants if not np.isnan(v["drop"]) and v["drop"] <= threshold]
    if not ok:
        best = min(variants, key=lambda v: (np.nan_to_num(v["drop"], nan=np.inf)))
        return best, (f"no variant stays within {threshold:g} points of the SavedModel; "
                      f"'{best['name']}' drops least ({best['drop']:.2f} points)")
    pick = _RULES.get(rule)(ok)
    why = RULE_DESCRIPTIONS.get(rule, f"rule '{rule}'")
    return pick, f"'{pick['name']}': {why} ({threshold:g} points)"
