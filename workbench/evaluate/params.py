"""The parameters of stage 03 (evaluation), declared once (see :mod:`workbench.params`)."""

from __future__ import annotations

from typing import Any

from workbench.evaluate.operating_point import RULES
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
    decision_rule: str = param("cost", "binary: how the decision threshold is chosen on the "
                               "eval split's selection half: cost (fewest cost_fn_fp-weighted "
                               "errors), recall (reach target_recall), precision (reach "
                               "target_precision), alert_rate (flag at most max_alert_rate), "
                               "fixed (decision_threshold)", choices=RULES)
    cost_fn_fp: float = param(10.0, "binary, rule cost: how many false alarms one missed "
                              "positive (e.g. a missed fraud) is worth")
    target_recall: float = param(0.8, "binary, rule recall: share of positives to catch")
    target_precision: float = param(0.5, "binary, rule precision: share of alerts that must be "
                                    "real positives")
    max_alert_rate: float = param(0.05, "binary, rule alert_rate: largest share of rows to flag")
    decision_threshold: float = param(0.5, "binary, rule fixed: the probability from which a "
                                      "prediction counts as positive")
    bootstrap: int = param(200, "bootstrap resamples for the confidence intervals of the "
                           "headline metrics (0: none)")
    top_k: int = param(2, "multiclass: k of the top-k accuracy")

    def check(self) -> None:
        if not 0 < self.decision_threshold < 1:
            raise self.fail("decision_threshold", "must be between 0 and 1", "e.g. 0.5")
        for name in ("target_recall", "target_precision", "max_alert_rate"):
            if not 0 < getattr(self, name) <= 1:
                raise self.fail(name, "is a share: more than 0 and at most 1",
                                f"e.g. -p {name}=0.5")
        if self.cost_fn_fp <= 0:
            raise self.fail("cost_fn_fp", "must be more than 0 (a missed positive costs as "
                            "much as this many false alarms)", "e.g. -p cost_fn_fp=10")
        if self.bootstrap < 0:
            raise self.fail("bootstrap", "must be 0 (none) or more", "e.g. -p bootstrap=200")
        if self.numeric_buckets < 2:
            raise self.fail("numeric_buckets", "must be at least 2", "e.g. numeric_buckets=4")
        if self.top_k < 1:
            raise self.fail("top_k", "must be at least 1", "e.g. top_k=2")
