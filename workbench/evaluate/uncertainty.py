"""Bootstrap confidence intervals of the headline metrics.

The eval split is a sample; a metric measured on 600 rows with 18 frauds is uncertain. The
percentile bootstrap (resample the rows with replacement, recompute the metric, take the 2.5th
and 97.5th percentiles) says how much, without assumptions about the metric's distribution.
Seeded, so a rerun writes the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from workbench.evaluate.metrics import metrics_for

__all__ = ["BOOTSTRAP_METRICS", "bootstrap_intervals"]

BOOTSTRAP_METRICS = {
    "binary": ("auc", "pr_auc", "recall", "precision", "accuracy"),
    "multiclass": ("accuracy", "macro_f1"),
    "regression": ("mae", "rmse", "r2"),
}


def bootstrap_intervals(task: str, y: np.ndarray, p: np.ndarray, *,
                        classes: Sequence[Any] = (), threshold: float = 0.5,
                        resamples: int = 200, level: float = 0.95, seed: int = 0,
                        ) -> dict[str, Any]:
    """``{"metrics": {name: {"low", "high"}}, "resamples", "level", "method"}``."""
    y = np.asarray(y)
    p = np.asarray(p)
    n = len(y)
    names = BOOTSTRAP_METRICS.get(task, ())
    samples: dict[str, list[float]] = {m: [] for m in names}
    rng = np.random.default_rng(seed)
    for _ in range(resamples if n else 0):
        idx = rng.integers(0, n, n)
        m = metrics_for(task, y[idx], p[idx], classes=classes, threshold=threshold)
        for name in names:
            v = m.get(name)
            if v is not None:
                samples[name].append(v)
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    out = {name: {"low": float(f"{np.percentile(v, lo):.6g}"),
                  "high": float(f"{np.percentile(v, hi):.6g}")}
           for name, v in samples.items() if len(v) >= resamples // 2}
    return {"metrics": out, "resamples": resamples, "level": level, "seed": seed,
            "method": "percentile bootstrap over eval rows"}
