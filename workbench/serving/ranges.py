"""Served values outside the ranges the model was trained on, counted per feature.

The export records each numeric feature's domain from stage 01's schema (``range`` of the
feature in ``assets.extra/workbench_metadata.json``). The local server reads it when a version
loads and counts every predict input value below its ``min`` or above its ``max`` in
``workbench_input_out_of_range{model_name, feature}`` — crafted or broken traffic shows in
the monitoring at once, not only in the next ``workbench monitor`` run. TF Serving has no such
series. NaN is not counted (it is refused unless the server allows non-finite numbers).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from workbench.serving.metrics import INPUT_OUT_OF_RANGE, Metrics

__all__ = ["Ranges", "count_out_of_range", "read_imputed", "read_ranges"]

log = logging.getLogger(__name__)

METADATA_FILE = "assets.extra/workbench_metadata.json"

Ranges = dict[str, tuple[float, float]]


def read_ranges(model_dir: str | Path) -> Ranges:
    """Input name → (min, max) from an export's metadata; empty without one."""
    path = Path(model_dir) / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        features = json.loads(path.read_text(encoding="utf-8"))["model"]["features"]
        return {str(f["name"]): (float(f["range"]["min"]), float(f["range"]["max"]))
                for f in features if isinstance(f, dict) and f.get("range")}
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("%s: no feature ranges read (%s); out-of-range values are not counted",
                    path, err)
        return {}


def read_imputed(model_dir: str | Path) -> frozenset[str]:
    """The inputs whose missing value (NaN) the model imputes, as the workbench's numeric
    features do in the model (``workbench.features.preprocess``; the export says
    ``"missing": "imputed"``): the only ones for which the server takes a JSON null. Empty
    for a model without the workbench's metadata."""
    path = Path(model_dir) / METADATA_FILE
    if not path.is_file():
        return frozenset()
    try:
        features = json.loads(path.read_text(encoding="utf-8"))["model"]["features"]
        return frozenset(str(f["name"]) for f in features
                         if isinstance(f, dict) and f.get("missing") == "imputed")
    except (OSError, ValueError, KeyError, TypeError):
        return frozenset()


def count_out_of_range(metrics: Metrics, model: str, ranges: Ranges,
                       arrays: dict[str, Any]) -> None:
    """Count the values of ``arrays`` outside their feature's range (cheap on one instance:
    a min/max of a short list per feature)."""
    for name, (lo, hi) in ranges.items():
        arr = arrays.get(name)
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiu" or not arr.size:
            continue
        if arr.size <= 16:
            values = arr.ravel().tolist()
            if not (min(values) < lo or max(values) > hi):
                continue
            outside = sum(1 for v in values if v < lo or v > hi)
        else:
            outside = int(np.count_nonzero((arr < lo) | (arr > hi)))
        if outside:
            metrics.inc(INPUT_OUT_OF_RANGE, (("model_name", model), ("feature", name)),
                        outside)
