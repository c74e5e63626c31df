"""The model card of a run, as one JSON-ready document: the engineer's ``model_card.yaml``
fields plus what the run store knows (data, performance with uncertainty, slices, the model it
replaces, the decision threshold, the TFLite variant, lineage from data to approval).

Every artifact is read through a view step, so its hash is checked; a step the run did not
reach leaves its section empty with a sentence saying so.
"""

from __future__ import annotations

from typing import Any

from workbench import stages
from workbench.apps.live import served_versions
from workbench.apps.modelcard_spec import load_card_spec
from workbench.apps.words import Wording, headline
from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.runs.step import Step
from workbench.runs.store import Run

__all__ = ["build_card", "weakest_slices"]

HEADLINE_METRIC = {"binary": "auc", "multiclass": "accuracy", "regression": "mae"}
LOWER_BETTER = {"mae", "rmse", "mse", "log_loss", "brier", "ece"}


def _load(run: Run, step: str, name: str) -> Any:
    record = run.step(step)
    if record is None or not record.done or name not in record.artifacts:
        return None
    try:
        return Step(run, step, "view").load(name)
    except WorkbenchError:
        return None


def _label_balance(run: Run, label: str, classes: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for split in ("train", "eval"):
        table = _load(run, stages.DATA_VALIDATION, split)
        if table is None or label not in table.column_names:
            continue
        values = table.column(label).to_pylist()
        counts = {str(c): sum(1 for v in values if str(v) == str(c)) for c in classes}
        out[split] = {"rows": len(values), "counts": counts}
    return out


def _date_range(run: Run, card: dict[str, Any]) -> dict[str, str] | None:
    table = _load(run, stages.DATA_VALIDATION, "train")
    if table is None:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    for field in table.schema:
        if pa.types.is_timestamp(field.type) or pa.types.is_date(field.type):
            col = table.column(field.name)
            lo, hi = pc.min(col).as_py(), pc.max(col).as_py()
            if lo is not None:
                return {"column": field.name, "from": str(lo), "to": str(hi)}
    return None


def weakest_slices(evaluation: dict[str, Any], metric: str, *, min_count: int = 20,
                   n: int = 3) -> list[dict[str, Any]]:
    """The ``n`` slices with the worst ``metric`` among those with at least ``min_count``
    rows (worst first), each with its gap to the overall value."""
    overall = evaluation["overall"]["metrics"].get(metric)
    rows = [s for s in evaluation.get("slices", [])
            if s["count"] >= min_count and s["metrics"].get(metric) is not None]
    lower = metric in LOWER_BETTER
    rows.sort(key=lambda s: s["metrics"][metric], reverse=lower)
    return [{"name": s["name"], "feature": s["feature"], "count": s["count"],
             "value": s["metrics"][metric],
             "gap": (s["metrics"][metric] - overall) if overall is not None else None}
            for s in rows[:n]]


def _features(info: dict[str, Any], spec: dict[str, Any]) -> list[dict[str, Any]]:
    words = spec.get("features") or {}
    out = []
    for f in info.get("features", []):
        if f.get("kind") == "categorical":
            head = f.get("vocabulary_head") or []
            plain = (f"one of {f.get('vocabulary_size', len(head))} values, e.g. "
                     + ", ".join(map(str, head[:4])))
        else:
            plain = f"a number (typical value {f['mean']:.4g})" if "mean" in f else "a number"
        out.append({"name": f["name"], "kind": f.get("kind"), "meaning": words.get(f["name"]),
                    "values": plain})
    return out


def build_card(run: Run, project: Project | None = None) -> dict[str, Any]:
    """The card of ``run`` (see the module docstring)."""
    project = project or Project.find()
    spec, spec_path = load_card_spec(project)
    record = run.record()
    data_card = _load(run, stages.DATA_VALIDATION, "data_card") or {}
    info = _load(run, stages.TRAIN, "model_info") or {}
    evaluation = _load(run, stages.EVALUATE, "evaluation")
    blessing = _load(run, stages.EVALUATE, "blessing")
    export_report = _load(run, stages.EXPORT, "export_report")
    tflite = _load(run, stages.TFLITE, "tflite_report")
    wording = Wording.for_data(data_card.get("dataset"), spec)
    task = info.get("task") or (evaluation or {}).get("task")
    versions = [v for v in served_versions(project) if v["run_id"] == run.id]
    metric = HEADLINE_METRIC.get(task or "", "")

    performance: dict[str, Any] = {}
    if evaluation:
        overall = evaluation["overall"]["metrics"]
        ci = (evaluation.get("uncertainty") or {}).get("metrics", {})
        performance = {
            "rows": evaluation["rows"],
            "headline": headline(evaluation, wording),
            "metrics": [{"name": k, "value": overall.get(k), "ci": ci.get(k)}
                        for k in (ci or overall) if overall.get(k) is not None],
            "uncertainty": evaluation.get("uncertainty"),
            "weakest": weakest_slices(evaluation, metric) if metric else [],
            "slices": [{"name": s["name"], "count": s["count"],
                        "value": s["metrics"].get(metric)} for s in evaluation["slices"]],
            "metric": metric,
        }
        values = [s["value"] for s in performance["slices"]
                  if s["value"] is not None and s["count"] >= 20]
        performance["slice_gap"] = (max(values) - min(values)) if len(values) > 1 else None
    base = (evaluation or {}).get("baseline") or {}
    comparison = None
    if base.get("overall"):
        eval_step = record.step(stages.EVALUATE)
        gate = eval_step.gate("blessing") if eval_step else None
        comparison = {"baseline_run": gate.details.get("baseline") if gate else None,
                      "metrics": {k: {"candidate": evaluation["overall"]["metrics"].get(k),
                                      "baseline": base["overall"]["metrics"].get(k)}
                                  for k in (metric, "recall", "precision", "accuracy")
                                  if k and k in base["overall"]["metrics"]}}
    meta = (export_report or {}).get("metadata") or {}
    lineage = {
        "data": {k: v for k, v in ((meta.get("data") or {}).get("sha256") or {}).items()},
        "model_sha256": ((blessing or {}).get("candidate") or {}).get("model_sha256"),
        "export_sha256": (export_report or {}).get("sha256"),
        "signatures": (export_report or {}).get("signatures") and {
            k: v.get("method_name") for k, v in export_report["signatures"].items()},
        "served": [{"model": v["model"], "version": v["version"], "labels": v["labels"],
                    "since": v["since"]} for v in versions],
        "approval": meta.get("approval") or {},
        "override": meta.get("override"),
        "blessed": (blessing or {}).get("blessed"),
        "blessing_failed": (blessing or {}).get("failed", []),
    }
    if not lineage["data"]:
        for art in ("train", "eval", "schema"):
            a = record.artifact(stages.DATA_VALIDATION, art)
            if a is not None:
                lineage["data"][f"{stages.DATA_VALIDATION}/{art}"] = a.sha256
    train_step = record.step(stages.TRAIN)
    return {
        "run_id": run.id,
        "spec_file": str(spec_path) if spec_path else None,
        "details": {
            "name": spec.get("name") or data_card.get("name") or "model",
            "overview": spec.get("overview"),
            "owners": spec.get("owners", []),
            "license": spec.get("license"),
            "version": (f"{versions[0]['model']} version {versions[0]['version']}"
                        if versions else None),
            "created": record.created,
            "trained": train_step.ended if train_step else None,
            "intended_use": spec.get("intended_use"),
            "intended_users": spec.get("intended_users", []),
            "out_of_scope": spec.get("out_of_scope", []),
            "limitations": spec.get("limitations", []),
            "ethical_considerations": spec.get("ethical_considerations", []),
            "references": spec.get("references", []),
            "task": task, "label": info.get("label"), "classes": info.get("classes", []),
            "builder": info.get("builder"),
        },
        "wording": wording.__dict__,
        "data": {
            "source": data_card.get("source"),
            "splits": data_card.get("splits", {}),
            "date_range": _date_range(run, spec),
            "label_balance": _label_balance(run, info.get("label", ""),
                                            info.get("classes", [])) if info else {},
            "features": _features(info, spec),
        },
        "performance": performance,
        "comparison": comparison,
        "decision": (evaluation or {}).get("operating_point"),
        "tflite": ({"recommended": tflite.get("recommended"), "inputs": tflite.get("inputs")}
                   if tflite else None),
        "lineage": lineage,
    }
