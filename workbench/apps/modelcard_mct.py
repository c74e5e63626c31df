"""The model card in Model Card Toolkit's JSON schema (schema_version 0.0.2), so tools that read
MCT cards read ours. The toolkit itself (archived in 2024, needing ML-Metadata) is not used:
the document is written here and checked against :data:`MCT_SCHEMA`, our statement of the
0.0.2 schema's structure (top level: ``model_details``, ``model_parameters``,
``quantitative_analysis``, ``considerations``; no other keys).

MCT 0.0.2 has no field for a confidence interval: each interval bound is a performance metric
of its own (``type`` ``"auc (95 % CI lower)"``), so the numbers survive the trip.
"""

from __future__ import annotations

from typing import Any

import fastjsonschema

__all__ = ["MCT_SCHEMA", "SCHEMA_VERSION", "to_mct", "validate_mct"]

SCHEMA_VERSION = "0.0.2"

_S = {"type": "string"}


def _obj(props: dict[str, Any], *, closed: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if closed:
        out["additionalProperties"] = False
    return out


def _arr(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


_DESCRIPTION = _obj({"description": _S})
_GRAPHICS = _obj({"description": _S, "collection": _arr(_obj({"name": _S, "image": _S}))})
MCT_SCHEMA: dict[str, Any] = _obj({
    "schema_version": _S,
    "model_details": _obj({
        "name": _S, "overview": _S, "documentation": _S,
        "owners": _arr(_obj({"name": _S, "contact": _S})),
        "version": _obj({"name": _S, "date": _S, "diff": _S}),
        "licenses": _arr(_obj({"identifier": _S, "custom_text": _S})),
        "references": _arr(_obj({"reference": _S})),
        "citations": _arr(_obj({"style": _S, "citation": _S})),
    }),
    "model_parameters": _obj({
        "model_architecture": _S, "input_format": _S, "output_format": _S,
        "data": _arr(_obj({"name": _S, "link": _S, "description": _S,
                           "sensitive": _obj({"sensitive_data": _arr(_S)}),
                           "graphics": _GRAPHICS})),
    }),
    "quantitative_analysis": _obj({
        "performance_metrics": _arr(_obj({"type": _S, "value": {"type": "number"},
                                          "slice": _S})),
        "graphics": _GRAPHICS,
    }),
    "considerations": _obj({
        "users": _arr(_DESCRIPTION), "use_cases": _arr(_DESCRIPTION),
        "limitations": _arr(_DESCRIPTION), "tradeoffs": _arr(_DESCRIPTION),
        "ethical_considerations": _arr(_obj({"name": _S, "mitigation_strategy": _S})),
    }),
}, closed=True)

_check = fastjsonschema.compile(MCT_SCHEMA)


def validate_mct(doc: dict[str, Any]) -> dict[str, Any]:
    _check(doc)
    return doc


def _metrics(card: dict[str, Any]) -> list[dict[str, Any]]:
    perf = card.get("performance") or {}
    out: list[dict[str, Any]] = []
    for m in perf.get("metrics", []):
        if m["value"] is None:
            continue
        out.append({"type": m["name"], "value": float(m["value"])})
        if m.get("ci"):
            level = int(round((perf.get("uncertainty") or {}).get("level", 0.95) * 100))
            out.append({"type": f"{m['name']} ({level} % CI lower)", "value": m["ci"]["low"]})
            out.append({"type": f"{m['name']} ({level} % CI upper)", "value": m["ci"]["high"]})
    metric = perf.get("metric")
    for s in perf.get("slices", []):
        if s["value"] is not None:
            out.append({"type": metric, "value": float(s["value"]), "slice": s["name"]})
    point = card.get("decision")
    if point:
        out.append({"type": "decision threshold", "value": float(point["threshold"])})
        for k in ("recall", "precision", "alert_rate"):
            if point["check"].get(k) is not None:
                out.append({"type": f"{k} at the decision threshold (check rows)",
                            "value": float(point["check"][k])})
    return out


def to_mct(card: dict[str, Any]) -> dict[str, Any]:
    """The card (:func:`workbench.apps.modelcard.build_card`) as an MCT 0.0.2 document."""
    d, data = card["details"], card["data"]
    lic = d.get("license")
    details: dict[str, Any] = {
        "name": d["name"],
        "overview": d.get("overview") or (card.get("performance") or {}).get("headline", ""),
        "owners": [{k: v for k, v in o.items() if k in ("name", "contact")}
                   for o in d.get("owners", [])],
        "version": {"name": d.get("version") or f"run {card['run_id']}",
                    "date": (d.get("created") or "")[:10]},
        "references": [{"reference": r} for r in d.get("references", [])],
    }
    if lic:
        details["licenses"] = [{"identifier": lic}]
    splits = data.get("splits", {})
    point = card.get("decision")
    tradeoffs = []
    if point:
        tradeoffs.append({"description": f"Flags from a score of {point['threshold']:.3g} "
                                         f"({point['describe']}); {point['rows']['how']}."})
    doc = {
        "schema_version": SCHEMA_VERSION,
        "model_details": details,
        "model_parameters": {
            "model_architecture": str(d.get("builder") or ""),
            "input_format": "raw features by name: " + ", ".join(
                f["name"] for f in data.get("features", [])),
            "output_format": f"{d.get('task')}: {d.get('label')}",
            "data": [{"name": f"{split} split", "description":
                      f"{n} rows from {data.get('source')}"} for split, n in splits.items()],
        },
        "quantitative_analysis": {"performance_metrics": _metrics(card)},
        "considerations": {
            "users": [{"description": u} for u in d.get("intended_users", [])],
            "use_cases": ([{"description": d["intended_use"]}] if d.get("intended_use")
                          else []),
            "limitations": [{"description": x} for x in
                            d.get("limitations", []) + [f"Not made for: {o}" for o in
                                                        d.get("out_of_scope", [])]],
            "tradeoffs": tradeoffs,
            "ethical_considerations": [{"name": e["name"],
                                        "mitigation_strategy": e.get("mitigation", "")}
                                       for e in d.get("ethical_considerations", [])],
        },
    }
    return validate_mct(doc)
