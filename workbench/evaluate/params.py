"""The parameters of stage 03 (evaluation), declared once (see :mod:`workbench.params`)."""

from __future__ import annotations

from typing import Any

from workbench.params import StageParams, param
from workbench.stages import EVALUATE

__all__ = ["EvaluateParams"]


class EvaluateParams(StageParams):
    STAGE = EVALUATE

    step: str = param(EVALUATE, "step name inside the run")
    slices: list[str] = param([], "features to slice by; empty: the categorical features (up "
                              "to 5), else two numeric ones")
    numeric_buckets: int = param(4, "equal-frequency buckets per numeric slice feature")
    thresholds: dict[str, Any] = param({}, 'per metric, e.g. {"auc": {"lower": 0.7, "change": '
                                       '{"direction": "higher", "absolute": -0.01}}}; empty: '
                                       "the task's defaults")
    thresholds_file: str = param("", "YAML file of thresholds of the same shape (relative to "
                                 "the project folder)")
    baseline: str = param("", 'run to compare with; empty: the latest blessed run; "stable" '
                          '(or "stable:<model>"): the version serving/ labels stable; "none": '
                          "no baseline")
    decision_threshold: float = param(0.5, "binary: the probability from which a prediction "
                                      "counts as positive")
    top_k: int = param(2, "multiclass: k of the top-k accuracy")

    def check(self) -> None:
        if not 0 < self.decision_threshold < 1:
            raise self.fail("decision_threshold", "must be between 0 and 1", "e.g. 0.5")
        if self.numeric_buckets < 2:
            raise self.fail("numeric_buckets", "must be at least 2", "e.g. numeric_buckets=4")
        if self.top_k < 1:
            raise self.fail("top_k", "must be at least 1", "e.g. top_k=2")
