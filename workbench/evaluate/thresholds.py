"""Thresholds as TFMA has them, and the checks they produce.

Per metric (optionally per slice), from the ``thresholds`` parameter or a YAML file::

    auc:
      lower: 0.7               # value threshold: auc >= 0.7
      change:                  # change threshold against the baseline
        direction: higher      # higher (or lower) is better
        absolute: -0.01        # candidate - baseline >= -0.01   (lower: <= +x)
        relative: -0.05        # (candidate - baseline) / |baseline| >= -0.05
      slices: ["country=DE"]   # also check these slices ("*": every slice)
    log_loss: {upper: 0.3}

A list of entries with ``metric:`` (and ``slice:``) works as well. Without a baseline the change
thresholds are skipped (TFMA's behaviour on the first run); value thresholds always apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench._format import number
from workbench.errors import ConfigError
from workbench.evaluate.metrics import HIGHER_IS_BETTER, LOWER_IS_BETTER

__all__ = ["OVERALL", "Threshold", "check_metrics_exist", "check_thresholds",
           "default_thresholds", "load_thresholds"]

OVERALL = "overall"
_KEYS = {"lower", "upper", "change", "slices", "slice", "metric"}
_CHANGE_KEYS = {"direction", "absolute", "relative"}


@dataclass
class Threshold:
    metric: str
    slices: list[str] = field(default_factory=lambda: [OVERALL])
    lower: float | None = None
    upper: float | None = None
    direction: str | None = None  # higher | lower
    absolute: float | None = None
    relative: float | None = None

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def default_thresholds(task: str, n_classes: int = 2) -> dict[str, Any]:
    """What blesses a model when nothing is configured: better than chance, and not worse than
    the baseline by more than a small margin."""
    if task == "binary":
        return {"auc": {"lower": 0.6, "change": {"direction": "higher", "absolute": -0.02}}}
    if task == "multiclass":
        return {"accuracy": {"lower": round(min(0.95, 1.5 / max(n_classes, 2)), 4),
                             "change": {"direction": "higher", "absolute": -0.02}}}
    return {"r2": {"lower": 0.0},
            "rmse": {"change": {"direction": "lower", "relative": 0.05}}}


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"threshold {where} must be a number, got {value!r}",
                          parameter="thresholds")
    return float(value)


def _parse_one(metric: str, spec: Any, where: str) -> Threshold:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"threshold for '{metric}' ({where}) must be a mapping, got {spec!r}",
                          hint="e.g. auc: {lower: 0.7, change: {direction: higher, "
                          "absolute: -0.01}}", parameter="thresholds")
    unknown = set(spec) - _KEYS
    if unknown:
        raise ConfigError(f"threshold for '{metric}' ({where}) has unknown key(s) "
                          f"{', '.join(sorted(unknown))}",
                          hint=f"keys: {', '.join(sorted(_KEYS - {'metric'}))}",
                          parameter="thresholds")
    t = Threshold(metric)
    if "slice" in spec or "slices" in spec:
        raw = spec.get("slices", spec.get("slice"))
        t.slices = [raw] if isinstance(raw, str) else [str(s) for s in raw]
    if spec.get("lower") is not None:
        t.lower = _number(spec["lower"], f"{metric}.lower")
    if spec.get("upper") is not None:
        t.upper = _number(spec["upper"], f"{metric}.upper")
    change = spec.get("change")
    if change is not None:
        if not isinstance(change, Mapping) or set(change) - _CHANGE_KEYS:
            raise ConfigError(f"change threshold of '{metric}' ({where}) must be a mapping "
                              "with direction and absolute and/or relative",
                              hint="e.g. change: {direction: higher, absolute: -0.01}",
                              parameter="thresholds")
        direction = change.get("direction") or (
            "higher" if metric.split("/")[0] in HIGHER_IS_BETTER else
            "lower" if metric.split("/")[0] in LOWER_IS_BETTER else None)
        if direction not in ("higher", "lower"):
            raise ConfigError(f"change threshold of '{metric}' needs direction: higher or "
                              "lower (which way is better)", parameter="thresholds")
        t.direction = direction
        if change.get("absolute") is not None:
            t.absolute = _number(change["absolute"], f"{metric}.change.absolute")
        if change.get("relative") is not None:
            t.relative = _number(change["relative"], f"{metric}.change.relative")
        if t.absolute is None and t.relative is None:
            raise ConfigError(f"change threshold of '{metric}' gives neither absolute nor "
                              "relative", hint="add absolute: -0.01 (or relative: -0.05)",
                              parameter="thresholds")
    if t.lower is None and t.upper is None and t.direction is None:
        raise ConfigError(f"threshold for '{metric}' ({where}) sets no bound",
                          hint="give lower, upper and/or change", parameter="thresholds")
    return t


def load_thresholds(spec: Any, *, file: str | Path = "", where: str = "thresholds parameter"
                    ) -> list[Threshold]:
    """Parse thresholds from a mapping / list (the parameter) and/or a YAML file."""
    out: list[Threshold] = []
    if file:
        from workbench.project import load_yaml_mapping

        path = Path(file)
        data = load_yaml_mapping(path, "thresholds file")
        out += load_thresholds(data.get("thresholds", data), where=str(path))
    if not spec:
        return out
    if isinstance(spec, Mapping):
        out += [_parse_one(str(m), s, where) for m, s in spec.items()]
    elif isinstance(spec, list):
        for i, entry in enumerate(spec):
            if not isinstance(entry, Mapping) or "metric" not in entry:
                raise ConfigError(f"{where}[{i}] needs a 'metric' key",
                                  hint="e.g. - {metric: auc, lower: 0.7}",
                                  parameter="thresholds")
            out.append(_parse_one(str(entry["metric"]), entry, f"{where}[{i}]"))
    else:
        raise ConfigError(f"{where} must be a mapping of metric → threshold, got {spec!r}",
                          parameter="thresholds")
    return out


def check_metrics_exist(thresholds: list[Threshold], metric_names: list[str]) -> None:
    """A threshold on a metric the evaluation does not compute is a configuration error."""
    for t in thresholds:
        if t.metric not in metric_names:
            raise ConfigError(f"threshold names metric '{t.metric}', which this evaluation "
                              "does not compute",
                              hint=f"metrics: {', '.join(metric_names)}", parameter="thresholds")


def check_thresholds(thresholds: list[Threshold], candidate: Mapping[str, Mapping[str, Any]],
                     baseline: Mapping[str, Mapping[str, Any]] | None, *,
                     metric_names: list[str]) -> list[dict[str, Any]]:
    """Every check with its numbers. ``candidate``/``baseline`` map slice name → metrics."""
    check_metrics_exist(thresholds, metric_names)
    checks: list[dict[str, Any]] = []
    for t in thresholds:
        slices = list(candidate) if "*" in t.slices else t.slices
        for name in slices:
            if name not in candidate:
                raise ConfigError(f"threshold for '{t.metric}' names slice '{name}', which the "
                                  "eval split does not have",
                                  hint=f"slices: {', '.join(candidate)}", parameter="thresholds")
            checks += _checks_for(t, name, candidate[name].get(t.metric),
                                  (baseline or {}).get(name, {}).get(t.metric)
                                  if baseline is not None else None, baseline is not None)
    return checks


def _checks_for(t: Threshold, slice_name: str, value: float | None, base: float | None,
                has_baseline: bool) -> list[dict[str, Any]]:
    where = t.metric if slice_name == OVERALL else f"{t.metric} on slice {slice_name}"
    out = []
    for bound, op in (("lower", ">="), ("upper", "<=")):
        limit = getattr(t, bound)
        if limit is None:
            continue
        passed = value is not None and (value >= limit if bound == "lower" else value <= limit)
        out.append({"metric": t.metric, "slice": slice_name, "kind": "value", "bound": bound,
                    "threshold": limit, "value": value, "passed": bool(passed),
                    "reason": f"{where} is {number(value)}; it must be {op} {limit:g}"})
    if t.direction is None:
        return out
    better = "higher" if t.direction == "higher" else "lower"
    if not has_baseline:
        out.append({"metric": t.metric, "slice": slice_name, "kind": "change",
                    "direction": t.direction, "value": value, "baseline": None,
                    "passed": True, "skipped": True,
                    "reason": f"{where}: no baseline to compare with (first blessed model)"})
        return out
    for mode in ("absolute", "relative"):
        limit = getattr(t, mode)
        if limit is None:
            continue
        if value is None or base is None:
            diff, passed = None, False
        else:
            diff = value - base if mode == "absolute" else (
                (value - base) / abs(base) if base else 0.0)
            passed = diff >= limit if t.direction == "higher" else diff <= limit
        shown = number(diff) if mode == "absolute" or diff is None else f"{diff:+.2%}"
        allowed = f"{limit:+g}" if mode == "absolute" else f"{limit:+.2%}"
        op = ">=" if t.direction == "higher" else "<="
        out.append({"metric": t.metric, "slice": slice_name, "kind": "change", "mode": mode,
                    "direction": t.direction, "threshold": limit, "value": value,
                    "baseline": base, "diff": diff if diff is None else float(f"{diff:.7g}"),
                    "passed": bool(passed),
                    "reason": (f"{where} is {number(value)} against {number(base)} for the "
                               f"baseline ({mode} change {shown}; {better} is better, it must "
                               f"be {op} {allowed})")})
    return out
