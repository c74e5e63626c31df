"""The summary of :func:`workbench.review.rundiff.diff_runs` as sections of rows, in order of
importance, for both renderings: text (``workbench diff``) and HTML (the runs app,
:mod:`workbench.review.html`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from workbench._format import number

__all__ = ["Section", "summary_sections", "value_text"]


def value_text(value: Any) -> str:
    """One value of the summary as a reader sees it (absent, JSON for structures)."""
    if value is None:
        return "(absent)"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return number(value, 6, missing="")


@dataclass
class Section:
    """One section: rows of cells under a header (no rows: unchanged), and notes under it."""

    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def _within(r: dict[str, Any]) -> str:
    ok = r.get("within_thresholds")
    return "" if ok is None else f"{'yes' if ok else 'NO'} ({r['thresholds']})"


def summary_sections(d: dict[str, Any]) -> tuple[str, list[str], list[Section]]:
    """The title line, the lines about the pipelines (stage sets, step states) and the
    sections parameters, data, gates, metrics, artifacts, packages."""
    a, b = d["a"]["run"], d["b"]["run"]
    v = value_text
    title = f"diff {a} ({d['a']['state']}) -> {b} ({d['b']['state']})"
    steps = d["steps"]
    intro = []
    if steps["only_a"] or steps["only_b"]:
        intro.append(f"different stage sets: only in {a}: {', '.join(steps['only_a']) or '-'}; "
                     f"only in {b}: {', '.join(steps['only_b']) or '-'}; compared: "
                     f"{', '.join(steps['shared']) or 'nothing'}")
    intro += [f"{s['step']}: {s['a']} -> {s['b']}" for s in steps["states"]]
    sections = [Section("parameters", ["parameter", a, b],
                        [[r["key"], v(r["a"]), v(r["b"])] for r in d["parameters"]])]
    data = d["data"]
    if data:
        rows = [[r["key"], v(r["a"]), v(r["b"])] for r in data["rows"] + data["source"]]
        rows += [[f"column {r['key']}", v(r["a"]), v(r["b"])] for r in data["schema"]]
        notes = ["moved most (Jensen-Shannon, training split): " + ", ".join(
            f"{m['feature']} {m['jensen_shannon']:.3g}" for m in data["features_moved"])
        ] if data["features_moved"] else []
        sections.append(Section("data", ["", a, b], rows, notes))
    sections.append(Section("gates", ["gate", a, b, f"why ({b})"],
                            [[r["key"], v(r["a"]), v(r["b"]), "; ".join(r["reasons_b"])]
                             for r in d["gates"]]))
    sections.append(Section(
        "metrics", ["metric", a, b, "change", "within blessing thresholds"],
        [[r["key"], v(r["a"]), v(r["b"]), f"{r['change']:+.4g}" if "change" in r else "",
          _within(r)] for r in d["metrics"]]))
    arts = d["artifacts"]
    sections.append(Section(
        "artifacts", ["artifact (sha256)", a, b],
        [[r["key"], (r["a"] or "(absent)")[:12], (r["b"] or "(absent)")[:12]]
         for r in arts["changed"]], [f"{arts['unchanged']} artifact(s) unchanged"]))
    sections.append(Section("packages", ["package", a, b],
                            [[r["key"], v(r["a"]), v(r["b"])] for r in d["packages"]]))
    return title, intro, sections
