"""Export metadata: ``assets.extra/workbench_metadata.json`` inside the SavedModel.

What an auditor needs to trace a served model back to its data and decision: the run and its
parameters, fingerprints (sha256) of the data splits and schema it was trained and validated
on, the evaluation metrics and blessing (and any override of it), the approval field, package
versions and the code commit. No timestamps: the same run exports the same bytes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.export.contract import ModelInfo

__all__ = ["METADATA_FILE", "build_metadata", "decision_threshold", "read_metadata",
           "schema_ranges", "summarize_evaluation", "write_metadata"]

log = logging.getLogger(__name__)

METADATA_FILE = "assets.extra/workbench_metadata.json"
FORMAT = "workbench-export-metadata/1"
EXTRA_PACKAGES = ("ai-edge-quantizer", "cryptography")


def summarize_evaluation(evaluation: Mapping[str, Any] | None) -> dict[str, Any]:
    """The overall metrics of ``03_evaluate/evaluation`` (numbers only; curves left out)."""
    if not evaluation:
        return {}
    overall = evaluation.get("overall", evaluation.get("metrics", evaluation))
    if isinstance(overall, Mapping) and isinstance(overall.get("metrics"), Mapping):
        overall = {**overall["metrics"], **{k: v for k, v in overall.items()
                                            if k != "metrics" and _plain_number(v)}}
    if not isinstance(overall, Mapping):
        return {}
    return {k: v for k, v in overall.items() if _plain_number(v)}


def _plain_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def decision_threshold(blessing: Mapping[str, Any] | None, evaluation: Mapping[str, Any] | None,
                       info: ModelInfo) -> float | None:
    """Stage 03's decision threshold of a binary model (blessing first, else the evaluation);
    None for other tasks or an evaluation from before thresholds were chosen."""
    if info.task != "binary":
        return None
    chosen = (blessing or {}).get("decision_threshold") or {}
    if isinstance(chosen, Mapping) and _plain_number(chosen.get("threshold")):
        return float(chosen["threshold"])
    value = (evaluation or {}).get("decision_threshold")
    return float(value) if _plain_number(value) else None


def build_metadata(*, run_id: str, step: str, parameters: Mapping[str, Any],
                   run_parameters: Mapping[str, Any], info: ModelInfo,
                   fingerprints: Mapping[str, str], evaluation: Mapping[str, Any] | None,
                   blessing: Mapping[str, Any] | None, override: Mapping[str, Any] | None,
                   approval: str, approved_by: str, environment: Mapping[str, Any],
                   signatures: Mapping[str, Any], rows: Mapping[str, int],
                   decision_threshold: float | None = None,
                   ranges: Mapping[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    from workbench.pipeline.environment import package_versions

    packages = {**package_versions(), **package_versions(EXTRA_PACKAGES)}  # what exported it
    return {
        "format": FORMAT,
        "run_id": run_id,
        "step": step,
        "parameters": dict(parameters),
        "run_parameters": dict(run_parameters),
        "model": {"task": info.task, "label": info.label, "builder": info.builder,
                  "classes": list(info.classes),
                  # a date/time input says its format (int64 epoch seconds, UTC)
                  # "range": the schema's domain of a numeric feature (the local server
                  # counts served values outside it); "missing": "imputed" where the model
                  # fills a missing value (NaN) itself (the server then takes a JSON null)
                  "features": [{"name": f.name, "dtype": f.dtype, "kind": f.kind,
                                **({"format": f.format} if f.format else {}),
                                **({"missing": "imputed"} if f.kind == "numeric" else {}),
                                **({"range": {"min": ranges[f.name][0],
                                              "max": ranges[f.name][1]}}
                                   if ranges and f.name in ranges else {})}
                               for f in info.features]},
        "data": {"sha256": dict(sorted(fingerprints.items())), "rows": dict(rows)},
        "evaluation": {"metrics": summarize_evaluation(evaluation),
                       "blessed": bool((blessing or {}).get("blessed", False)),
                       "blessing": dict(blessing or {}),
                       # binary: served class_ids/classes are positive from this probability
                       "decision_threshold": decision_threshold},
        "override": dict(override) if override else None,
        "approval": {"status": approval, "by": approved_by or None},
        "signatures": {k: v.get("method_name") for k, v in signatures.items()},
        "environment": {"python": environment.get("python"), "packages": packages,
                        "git": environment.get("git")},
    }


def schema_ranges(schema: Any, info: ModelInfo) -> dict[str, tuple[float, float]]:
    """Feature name → (min, max) of the schema's ``float_domain``/``int_domain`` (the data
    column's domain; features without a bounded domain are left out)."""
    out: dict[str, tuple[float, float]] = {}
    if schema is None:
        return out
    by_column = {f.name: f for f in schema.feature}
    for f in info.features:
        sf = by_column.get(f.column)
        if sf is None or f.is_string:
            continue
        domain = sf.WhichOneof("domain_info")
        if domain not in ("float_domain", "int_domain"):
            continue
        d = getattr(sf, domain)
        if d.HasField("min") and d.HasField("max"):
            out[f.name] = (float(d.min), float(d.max))
    return out


def write_metadata(model_dir: str | Path, metadata: Mapping[str, Any]) -> Path:
    path = Path(model_dir) / METADATA_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metadata, indent=1, sort_keys=True, default=str) + "\n",
                    encoding="utf-8")
    return path


def read_metadata(model_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(model_dir) / METADATA_FILE).read_text(encoding="utf-8"))
