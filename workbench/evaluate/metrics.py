"""Metrics per task, vectorized over NumPy arrays of labels and predictions.

* binary (``y`` in {0, 1}, ``p`` = probability of the positive class): ``auc``, ``pr_auc``,
  ``accuracy``, ``precision``, ``recall``, ``f1`` (at the decision threshold), ``log_loss``,
  ``brier``, ``calibration`` (mean prediction / mean label, as TFMA), ``ece`` (expected
  calibration error over 10 bins), ``positive_rate``, ``prediction_mean``;
* multiclass (``y`` class index, ``p`` (n, K) probabilities): ``accuracy``, ``top_k_accuracy``,
  ``log_loss``, ``macro_f1``, ``weighted_f1``, and ``precision/<class>``, ``recall/<class>``,
  ``f1/<class>`` for each class;
* regression: ``mae``, ``rmse``, ``mse``, ``r2``, ``label_mean``, ``prediction_mean``.

Curves and the confusion matrix are computed for the overall data only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "HIGHER_IS_BETTER",
    "LOWER_IS_BETTER",
    "binary_metrics",
    "confusion",
    "curves",
    "metric_names",
    "metrics_for",
    "multiclass_metrics",
    "regression_metrics",
]

_EPS = 1e-7

HIGHER_IS_BETTER = {"auc", "pr_auc", "accuracy", "precision", "recall", "f1", "top_k_accuracy",
                    "macro_f1", "weighted_f1", "r2"}
LOWER_IS_BETTER = {"log_loss", "brier", "ece", "mae", "rmse", "mse"}


def _num(x: Any) -> float | None:
    x = float(x)
    return float(f"{x:.7g}") if np.isfinite(x) else None


def _ranking(y: np.ndarray, p: np.ndarray) -> tuple[float | None, float | None]:
    """ROC AUC (ties averaged) and average precision, from one sort."""
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None, None
    from scipy.stats import rankdata

    ranks = rankdata(p)
    auc = (ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    order = np.argsort(-p, kind="mergesort")
    ys, ps = y[order], p[order]
    tp = np.cumsum(ys)
    # precision at each distinct threshold, recall steps where positives are
    last = np.r_[np.flatnonzero(np.diff(ps)), len(ps) - 1]
    tps = tp[last]
    precision = tps / (last + 1)
    recall = tps / n_pos
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return float(auc), ap


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
    y = np.asarray(y, dtype=np.float64).ravel()
    p = np.clip(np.asarray(p, dtype=np.float64).ravel(), 0.0, 1.0)
    n = len(y)
    if n == 0:
        return {}
    auc, ap = _ranking(y, p)
    pred = p >= threshold
    tp = float(np.sum(pred & (y == 1)))
    fp = float(np.sum(pred & (y == 0)))
    fn = float(np.sum(~pred & (y == 1)))
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall)
          if precision is not None and recall is not None and precision + recall else None)
    pc = np.clip(p, _EPS, 1 - _EPS)
    log_loss = -np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    bins = np.minimum((p * 10).astype(int), 9)
    conf = np.bincount(bins, weights=p, minlength=10)
    hits = np.bincount(bins, weights=y, minlength=10)
    ece = float(np.sum(np.abs(conf - hits)) / n)
    label_mean = float(y.mean())
    return {
        "auc": auc if auc is None else _num(auc),
        "pr_auc": ap if ap is None else _num(ap),
        "accuracy": _num(np.mean(pred == (y == 1))),
        "precision": None if precision is None else _num(precision),
        "recall": None if recall is None else _num(recall),
        "f1": None if f1 is None else _num(f1),
        "log_loss": _num(log_loss),
        "brier": _num(np.mean((p - y) ** 2)),
        "calibration": _num(p.mean() / label_mean) if label_mean > 0 else None,
        "ece": _num(ece),
        "positive_rate": _num(label_mean),
        "prediction_mean": _num(p.mean()),
    }


def multiclass_metrics(y: np.ndarray, p: np.ndarray, classes: Sequence[Any],
                       top_k: int = 2) -> dict[str, Any]:
    y = np.asarray(y, dtype=np.int64).ravel()
    p = np.asarray(p, dtype=np.float64)
    n, k = p.shape
    if n == 0:
        return {}
    pred = np.argmax(p, axis=1)
    out: dict[str, Any] = {"accuracy": _num(np.mean(pred == y))}
    if 1 < top_k < k:
        top = np.argpartition(-p, top_k - 1, axis=1)[:, :top_k]
        out["top_k_accuracy"] = _num(np.mean(np.any(top == y[:, None], axis=1)))
    picked = np.clip(p[np.arange(n), y], _EPS, 1.0)
    out["log_loss"] = _num(-np.mean(np.log(picked)))
    tp = np.bincount(y[pred == y], minlength=k).astype(float)
    predicted = np.bincount(pred, minlength=k).astype(float)
    actual = np.bincount(y, minlength=k).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, np.nan)
        recall = np.where(actual > 0, tp / actual, np.nan)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall),
                      0.0)
    f1 = np.where(np.isnan(precision) | np.isnan(recall), np.nan, f1)
    present = actual > 0
    out["macro_f1"] = _num(np.nanmean(np.where(present, np.nan_to_num(f1), np.nan)))
    out["weighted_f1"] = _num(np.sum(np.nan_to_num(f1) * actual) / max(actual.sum(), 1))
    for i, c in enumerate(classes):
        out[f"precision/{c}"] = _num(precision[i])
        out[f"recall/{c}"] = _num(recall[i])
        out[f"f1/{c}"] = _num(f1[i])
    return out


def regression_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    y = np.asarray(y, dtype=np.float64).ravel()
    p = np.asarray(p, dtype=np.float64).ravel()
    if len(y) == 0:
        return {}
    err = p - y
    mse = float(np.mean(err ** 2))
    var = float(np.var(y))
    return {
        "mae": _num(np.mean(np.abs(err))),
        "rmse": _num(np.sqrt(mse)),
        "mse": _num(mse),
        "r2": _num(1.0 - mse / var) if var > 0 else None,
        "label_mean": _num(y.mean()),
        "prediction_mean": _num(p.mean()),
    }


def metrics_for(task: str, y: np.ndarray, p: np.ndarray, *, classes: Sequence[Any] = (),
                threshold: float = 0.5, top_k: int = 2) -> dict[str, Any]:
    """The task's metrics (JSON-ready: floats or None)."""
    if task == "binary":
        return binary_metrics(y, p, threshold)
    if task == "multiclass":
        return multiclass_metrics(y, p, classes, top_k)
    return regression_metrics(y, p)


def metric_names(task: str, classes: Sequence[Any] = (), top_k: int = 2) -> list[str]:
    """Every metric name the task produces (for messages that list them)."""
    if task == "binary":
        return ["auc", "pr_auc", "accuracy", "precision", "recall", "f1", "log_loss", "brier",
                "calibration", "ece", "positive_rate", "prediction_mean"]
    if task == "multiclass":
        names = ["accuracy", "log_loss", "macro_f1", "weighted_f1"]
        if 1 < top_k < len(classes):
            names.insert(1, "top_k_accuracy")
        return names + [f"{m}/{c}" for c in classes for m in ("precision", "recall", "f1")]
    return ["mae", "rmse", "mse", "r2", "label_mean", "prediction_mean"]


def _downsample(*arrays: np.ndarray, points: int = 101) -> list[list[float]]:
    n = len(arrays[0])
    idx = np.unique(np.linspace(0, n - 1, min(points, n)).round().astype(int)) if n else []
    return [[_num(v) for v in a[idx]] for a in arrays]


def curves(task: str, y: np.ndarray, p: np.ndarray, *, classes: Sequence[Any] = ()
           ) -> dict[str, Any]:
    """ROC, precision-recall and calibration curves (binary); residuals (regression)."""
    if task == "binary":
        y = np.asarray(y).ravel().astype(int)
        p = np.asarray(p, dtype=np.float64).ravel()
        out: dict[str, Any] = {}
        if 0 < y.sum() < len(y):
            from sklearn.metrics import precision_recall_curve, roc_curve

            fpr, tpr, _ = roc_curve(y, p)
            out["roc"] = dict(zip(("fpr", "tpr"), _downsample(fpr, tpr), strict=True))
            prec, rec, _ = precision_recall_curve(y, p)
            out["pr"] = dict(zip(("recall", "precision"), _downsample(rec[::-1], prec[::-1]),
                                 strict=True))
        bins = np.minimum((np.clip(p, 0, 1) * 10).astype(int), 9)
        counts = np.bincount(bins, minlength=10)
        mean_p = np.bincount(bins, weights=p, minlength=10) / np.maximum(counts, 1)
        rate = np.bincount(bins, weights=y, minlength=10) / np.maximum(counts, 1)
        out["calibration"] = {  # empty bins have no point
            "predicted": [_num(v) if c else None for v, c in zip(mean_p, counts, strict=True)],
            "observed": [_num(v) if c else None for v, c in zip(rate, counts, strict=True)],
            "count": counts.tolist()}
        return out
    if task == "regression":
        err = np.asarray(p, dtype=np.float64).ravel() - np.asarray(y, dtype=np.float64).ravel()
        counts, edges = np.histogram(err, bins=20)
        return {"residuals": {"edges": [_num(e) for e in edges], "count": counts.tolist()}}
    return {}


def confusion(task: str, y: np.ndarray, p: np.ndarray, *, classes: Sequence[Any],
              threshold: float = 0.5) -> dict[str, Any] | None:
    """Rows: actual class; columns: predicted class."""
    if task == "regression":
        return None
    y = np.asarray(y).ravel().astype(np.int64)
    if task == "binary":
        pred = (np.asarray(p).ravel() >= threshold).astype(np.int64)
        k = 2
    else:
        pred = np.argmax(np.asarray(p), axis=1)
        k = len(classes)
    matrix = np.bincount(y * k + pred, minlength=k * k).reshape(k, k)
    return {"labels": [str(c) for c in classes], "matrix": matrix.tolist(),
            "threshold": threshold if task == "binary" else None}
