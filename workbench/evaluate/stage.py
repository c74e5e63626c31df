"""Stage 03: evaluate the trained model on the eval split, compare it with the baseline, and
bless it or not.

In compute mode :func:`evaluate` predicts with ``02_train/model`` on ``01_data_validation/eval``,
computes the metrics overall and per slice, evaluates the baseline model (the currently blessed
one) on the same rows, checks the thresholds, and saves ``evaluation`` and ``blessing`` and the
gate ``blessing``. In view mode it loads them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench import stages
from workbench.errors import WorkbenchError
from workbench.evaluate.baseline import Baseline, find_baseline
from workbench.evaluate.evaluator import evaluate_predictions, metrics_by_slice, predict
from workbench.evaluate.metrics import metric_names
from workbench.evaluate.operating_point import choose_threshold
from workbench.evaluate.params import EvaluateParams
from workbench.evaluate.slicing import choose_slice_features
from workbench.evaluate.thresholds import (
    check_metrics_exist,
    check_thresholds,
    default_thresholds,
    load_thresholds,
)
from workbench.evaluate.uncertainty import bootstrap_intervals
from workbench.features.spec import FeaturePlan
from workbench.runs.step import Step
from workbench.train.data import check_finite, encode_labels, feature_arrays, require_label

__all__ = ["EvaluateParams", "EvaluationResult", "evaluate"]

log = logging.getLogger(__name__)

DATA_STEP = stages.DATA_VALIDATION
TRAIN_STEP = stages.TRAIN


@dataclass
class EvaluationResult:
    evaluation: dict[str, Any]
    blessing: dict[str, Any]
    #: the run whose model was the baseline (recorded in the manifest, not the artifacts)
    baseline_run: str | None = None

    @property
    def blessed(self) -> bool:
        return bool(self.blessing.get("blessed"))

    @property
    def failed_checks(self) -> list[dict[str, Any]]:
        return [c for c in self.blessing.get("checks", []) if not c["passed"]]


def _resolve_file(path: str) -> str:
    if not path or Path(path).is_absolute():
        return path
    from workbench.project import Project

    return str(Project.find().root / path)


def _operating_point(task: str, y: Any, p: Any, params: EvaluateParams
                     ) -> dict[str, Any] | None:
    """The chosen decision threshold of a binary model (None for other tasks)."""
    if task != "binary":
        return None
    return choose_threshold(y, p.reshape(-1), params.decision_rule,
                            cost_fn_fp=params.cost_fn_fp, target_recall=params.target_recall,
                            target_precision=params.target_precision,
                            max_alert_rate=params.max_alert_rate,
                            fixed=params.decision_threshold)


def _baseline_evaluation(baseline: Baseline, table: Any, *, label: str, task: str,
                         slice_features: list[str], kw: dict[str, Any],
                         params: EvaluateParams) -> dict[str, Any]:
    import keras

    plan = FeaturePlan.from_dict(baseline.info["preprocessing"])
    classes = baseline.info["classes"]
    x = feature_arrays(table, plan, split="eval")
    y = encode_labels(table, label, task, classes, split="eval")
    model = keras.saving.load_model(baseline.model_path)
    p = predict(model, x)
    point = _operating_point(task, y, p, params)  # the baseline at its own operating point
    if point is not None:
        kw = {**kw, "threshold": point["threshold"]}
    out = evaluate_predictions(task, y, p, table=table, slice_features=slice_features,
                               classes=classes, label=label, **kw)
    out["operating_point"] = point
    return out


def _threshold_summary(point: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the blessing (and from it the export metadata) records of the operating point."""
    if point is None:
        return None
    return {"threshold": point["threshold"], "rule": point["rule"], "target": point["target"],
            "describe": point["describe"], "chosen_on": point["rows"]["how"],
            "check": {k: point["check"][k] for k in ("recall", "precision", "alert_rate")}}


def evaluate(step: Step, params: EvaluateParams | None = None) -> EvaluationResult:
    """Evaluate (compute mode) or load (view mode) the stage's evaluation and blessing."""
    if not step.computing:
        gate = step.record.gate("blessing")
        return EvaluationResult(step.load("evaluation"), step.load("blessing"),
                                gate.details.get("baseline") if gate else None)
    import keras

    params = params or EvaluateParams()
    thresholds, thresholds_file, top_k = params.thresholds, params.thresholds_file, params.top_k

    info = step.load(f"{TRAIN_STEP}/model_info")
    model_art = step.artifact(f"{TRAIN_STEP}/model")
    table = step.load(f"{DATA_STEP}/eval")
    label, task, classes = info["label"], info["task"], info["classes"]
    require_label(table, label, "eval")
    plan = FeaturePlan.from_dict(info["preprocessing"])
    x = feature_arrays(table, plan, split="eval")
    check_finite(x, plan, split="eval")
    y = encode_labels(table, label, task, classes, split="eval")
    slice_features = choose_slice_features(list(params.slices), table, info["features"])
    kw = {"top_k": top_k, "buckets": params.numeric_buckets}
    # check the thresholds before the expensive part: a typo fails fast
    specs = load_thresholds(thresholds or ({} if thresholds_file else
                                           default_thresholds(task, len(classes))),
                            file=_resolve_file(thresholds_file))
    names = metric_names(task, classes, top_k)
    check_metrics_exist(specs, names)

    model = keras.saving.load_model(model_art.path)
    p = predict(model, x)
    point = _operating_point(task, y, p, params)
    threshold = point["threshold"] if point else params.decision_threshold
    evaluation = evaluate_predictions(task, y, p, table=table, slice_features=slice_features,
                                      classes=classes, label=label, threshold=threshold, **kw)
    evaluation["operating_point"] = point
    evaluation["uncertainty"] = (bootstrap_intervals(task, y, p, classes=classes,
                                                     threshold=threshold,
                                                     resamples=params.bootstrap)
                                 if params.bootstrap else None)

    base = find_baseline(step.store, exclude=step.run, label=label, task=task,
                         columns=set(table.column_names),
                         ref=params.baseline)
    base_metrics = None
    base_doc: dict[str, Any] | None = None
    if base is not None:
        try:
            base_eval = _baseline_evaluation(base, table, label=label, task=task,
                                             slice_features=slice_features, kw=kw,
                                             params=params)
        except WorkbenchError as err:
            base_doc = {**base.describe(), "error": err.message}
            log.warning("baseline of run %s could not be evaluated: %s", base.run, err.message)
        else:
            base_metrics = metrics_by_slice(base_eval)
            base_doc = {**base.describe(), "overall": base_eval["overall"],
                        "slices": base_eval["slices"], "curves": base_eval["curves"],
                        "operating_point": base_eval["operating_point"],
                        "confusion_matrix": base_eval["confusion_matrix"]}
    evaluation["baseline"] = base_doc
    candidate = metrics_by_slice(evaluation)
    checks = check_thresholds(specs, candidate, base_metrics, metric_names=names)
    if base_doc is not None and "error" in base_doc:
        checks.append({"metric": "*", "slice": "overall", "kind": "baseline", "passed": False,
                       "reason": f"the baseline model of run {base.run} could not be "
                       f"evaluated on this eval split: {base_doc['error']}"})
    failed = [c for c in checks if not c["passed"]]
    base_run = base.run if base is not None else None
    if base is not None and base.skipped:
        log.info("runs skipped for the baseline: %s", "; ".join(base.skipped))
    blessing = {
        "blessed": not failed,
        "candidate": {"model_sha256": model_art.sha256, "builder": info.get("builder")},
        "baseline": ({k: v for k, v in base_doc.items()
                      if k in ("model_sha256", "builder", "error")} if base_doc else None),
        "thresholds": [t.describe() for t in specs],
        "decision_threshold": _threshold_summary(point),
        "checks": checks,
        "failed": [c["reason"] for c in failed],
    }
    step.save("evaluation", evaluation)
    step.save("blessing", blessing)
    step.gate("blessing", not failed,
              [f"not blessed: {c['reason']}" for c in failed], baseline=base_run)
    overall = evaluation["overall"]["metrics"]
    step.log_metrics({k: v for k, v in overall.items() if isinstance(v, float) and "/" not in k},
                     blessed=not failed, eval_rows=evaluation["rows"],
                     **({"decision_threshold": point["threshold"]} if point else {}),
                     baseline=base_run or "none")
    return EvaluationResult(evaluation, blessing, base_run)
