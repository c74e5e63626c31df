"""What changed between two runs, in order of importance.

:func:`diff_runs` answers "what changed between last night's run and tonight's" as one JSON-ready
mapping, section by section: the pipelines (which steps only one run has), parameters, data
(rows, schema changes, the features whose statistics moved most), gates, metrics (with the change
and whether it stays within the blessing thresholds), artifacts (hash changed or not) and package
versions. The per-step notebook diffs are :mod:`workbench.review.nbdiff`'s.

Runs are read through the typed record (``Run.record()``) and their artifacts through a view
step (so hashes are checked); nothing here knows the layout of ``run.json``.
"""

from __future__ import annotations

import logging
from typing import Any

from workbench.errors import WorkbenchError
from workbench.runs.record import RunRecord
from workbench.runs.step import Step
from workbench.runs.store import Run
from workbench.stages import DATA_VALIDATION, EVALUATE

__all__ = ["SECTIONS", "diff_runs", "shared_steps"]

log = logging.getLogger(__name__)

#: the summary's sections, most important first
SECTIONS = ("steps", "parameters", "data", "gates", "metrics", "artifacts", "packages")
#: how many features whose statistics moved most are listed
TOP_FEATURES = 5


def shared_steps(a: RunRecord, b: RunRecord) -> tuple[list[str], list[str], list[str]]:
    """Steps both runs have (in A's pipeline order), and those only A or only B has."""
    order = list(dict.fromkeys([*a.pipeline, *a.steps, *b.pipeline, *b.steps]))
    both = [s for s in order if s in a.steps and s in b.steps]
    return (both, [s for s in order if s in a.steps and s not in b.steps],
            [s for s in order if s in b.steps and s not in a.steps])


def _changes(left: dict[str, Any], right: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows ``{key, a, b}`` for every key whose value differs (absent is None)."""
    rows = []
    for key in list(dict.fromkeys([*left, *right])):
        x, y = left.get(key), right.get(key)
        if x != y:
            rows.append({"key": key, "a": x, "b": y})
    return rows


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parameters(a: RunRecord, b: RunRecord, steps: list[str]) -> list[dict[str, Any]]:
    left = {f"{s}.{k}": v for s in steps for k, v in a.steps[s].parameters.items()}
    right = {f"{s}.{k}": v for s in steps for k, v in b.steps[s].parameters.items()}
    return _changes(left, right)


def _load(run: Run, step: str, name: str, message: Any = None) -> Any:
    """An artifact of a finished step, or None when the run has none (or it cannot be read)."""
    if run.record().artifact(step, name) is None:
        return None
    try:
        return Step(run, step, "view").load(name, message=message)
    except WorkbenchError as err:
        log.warning("run %s: cannot read %s/%s: %s", run.id, step, name, err)
        return None


def _columns(card: dict[str, Any] | None) -> dict[str, str]:
    if not isinstance(card, dict):
        return {}
    return {c["name"]: f"{c.get('type', '?')} ({c.get('role', '?')})"
            for c in card.get("columns", []) if isinstance(c, dict) and "name" in c}


def _feature_moves(run_a: Run, run_b: Run) -> list[dict[str, Any]]:
    """Features of the training split whose distribution moved most (Jensen–Shannon)."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    from workbench.data.compare import jensen_shannon
    from workbench.data.stats import feature_name

    msg = statistics_pb2.DatasetFeatureStatisticsList
    sa = _load(run_a, DATA_VALIDATION, "stats_train", msg)
    sb = _load(run_b, DATA_VALIDATION, "stats_train", msg)
    if not sa or not sb or not sa.datasets or not sb.datasets:
        return []
    fa = {feature_name(f): f for f in sa.datasets[0].features}
    moves = []
    for f in sb.datasets[0].features:
        name = feature_name(f)
        if name not in fa:
            continue
        distance = jensen_shannon(fa[name], f)
        if distance is not None and distance.value > 0:
            moves.append({"feature": name, "jensen_shannon": round(distance.value, 6)})
    moves.sort(key=lambda m: -m["jensen_shannon"])
    return moves[:TOP_FEATURES]


def _data(run_a: Run, run_b: Run, a: RunRecord, b: RunRecord) -> dict[str, Any]:
    if not (a.done(DATA_VALIDATION) and b.done(DATA_VALIDATION)):
        return {}
    card_a = _load(run_a, DATA_VALIDATION, "data_card") or {}
    card_b = _load(run_b, DATA_VALIDATION, "data_card") or {}
    out: dict[str, Any] = {}
    rows = {"rows": (card_a.get("rows"), card_b.get("rows"))}
    for split in ("train", "eval"):
        key = f"rows_{split}"
        rows[key] = (a.steps[DATA_VALIDATION].metrics.get(key),
                     b.steps[DATA_VALIDATION].metrics.get(key))
    out["rows"] = [{"key": k, "a": x, "b": y} for k, (x, y) in rows.items() if x != y]
    out["schema"] = _changes(_columns(card_a), _columns(card_b))
    out["source"] = _changes({"source": card_a.get("source")}, {"source": card_b.get("source")})
    out["features_moved"] = _feature_moves(run_a, run_b)
    return out


def _gate_text(passed: bool | None) -> str | None:
    return None if passed is None else ("pass" if passed else "FAIL")


def _gates(a: RunRecord, b: RunRecord) -> list[dict[str, Any]]:
    left = {f"{s}.{g.name}": _gate_text(g.passed) for s, g in a.gates()}
    right = {f"{s}.{g.name}": _gate_text(g.passed) for s, g in b.gates()}
    rows = _changes(left, right)
    for row in rows:
        step, _, gate = row["key"].partition(".")
        record = b.step(step)
        found = record.gate(gate) if record else None
        row["reasons_b"] = list(found.reasons) if found else []
    return rows


def _thresholds(run: Run, record: RunRecord) -> list[dict[str, Any]]:
    if not record.done(EVALUATE):
        return []
    blessing = _load(run, EVALUATE, "blessing")
    if not isinstance(blessing, dict):
        return []
    return [t for t in blessing.get("thresholds", []) if isinstance(t, dict)]


def _within(metric: str, a: Any, b: Any, thresholds: list[dict[str, Any]]
            ) -> tuple[bool | None, str]:
    """Whether B's value and its change from A stay within the blessing thresholds of
    ``metric`` (None when no threshold names it), and the thresholds in words."""
    mine = [t for t in thresholds if t.get("metric") == metric
            and "overall" in t.get("slices", ["overall"])]
    if not mine:
        return None, ""
    ok, said = True, []
    for t in mine:
        if _number(t.get("lower")):
            ok = ok and b >= t["lower"]
            said.append(f">= {t['lower']:g}")
        if _number(t.get("upper")):
            ok = ok and b <= t["upper"]
            said.append(f"<= {t['upper']:g}")
        higher = t.get("direction", "higher") == "higher"
        change = (b - a) if higher else (a - b)
        if _number(t.get("absolute")):
            ok = ok and change >= t["absolute"]
            said.append(f"change {'>=' if higher else '<='} {t['absolute'] if higher else -t['absolute']:+g}")
        if _number(t.get("relative")) and a:
            ok = ok and change / abs(a) >= t["relative"]
            said.append(f"relative change within {t['relative']:+.0%}")
    return ok, ", ".join(said)


def _metrics(run_b: Run, a: RunRecord, b: RunRecord, steps: list[str]) -> list[dict[str, Any]]:
    thresholds = _thresholds(run_b, b)
    rows = []
    for step in steps:
        left = {k: v for k, v in a.steps[step].metrics.items()
                if isinstance(v, (int, float, str, bool))}
        right = {k: v for k, v in b.steps[step].metrics.items()
                 if isinstance(v, (int, float, str, bool))}
        for row in _changes(left, right):
            name, x, y = row["key"], row["a"], row["b"]
            row["key"] = f"{step}.{name}"
            if _number(x) and _number(y):
                row["change"] = y - x
                if step == EVALUATE:
                    row["within_thresholds"], row["thresholds"] = _within(name, x, y, thresholds)
            rows.append(row)
    return rows


def _artifacts(a: RunRecord, b: RunRecord, steps: list[str]) -> dict[str, Any]:
    changed, same = [], 0
    for step in steps:
        arts_a, arts_b = a.steps[step].artifacts, b.steps[step].artifacts
        for name in list(dict.fromkeys([*arts_a, *arts_b])):
            x, y = arts_a.get(name), arts_b.get(name)
            if x is not None and y is not None and x.sha256 == y.sha256:
                same += 1
                continue
            changed.append({"key": f"{step}/{name}",
                            "a": x.sha256 if x else None, "b": y.sha256 if y else None,
                            "bytes_a": x.bytes if x else None, "bytes_b": y.bytes if y else None})
    return {"changed": changed, "unchanged": same}


def diff_runs(run_a: Run, run_b: Run) -> dict[str, Any]:
    """The summary of what changed from run A to run B (JSON-ready; see :data:`SECTIONS`)."""
    a, b = run_a.record(), run_b.record()
    both, only_a, only_b = shared_steps(a, b)
    states = [{"step": s, "a": str(a.steps[s].state), "b": str(b.steps[s].state)}
              for s in both if a.steps[s].state != b.steps[s].state]
    return {
        "a": {"run": a.run_id, "state": str(a.state), "created": a.created},
        "b": {"run": b.run_id, "state": str(b.state), "created": b.created},
        "steps": {"shared": both, "only_a": only_a, "only_b": only_b, "states": states,
                  "same_pipeline": a.pipeline == b.pipeline},
        "parameters": _parameters(a, b, both),
        "data": _data(run_a, run_b, a, b),
        "gates": _gates(a, b),
        "metrics": _metrics(run_b, a, b, both),
        "artifacts": _artifacts(a, b, both),
        "packages": _changes(a.environment.get("packages", {}),
                             b.environment.get("packages", {})),
    }
