"""Data card: the columns of a dataset with their types and missing values, and what stage 01
decided on reading it: the dialect (each setting detected or given, with its evidence), each
column's original header, safe name and role, what was dropped and why, and the warnings."""

from __future__ import annotations

from typing import Any

import traitlets

from workbench.widgets._base import WorkbenchWidget, esc

__all__ = ["DataCardView"]


class DataCardView(WorkbenchWidget):
    _module = "data_card"
    card = traitlets.Dict().tag(sync=True)

    def __init__(self, card: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(card=card, **kwargs)

    def static_html(self) -> str:
        card = self.card
        rows = "".join(
            f"<tr><td>{esc(c['name'])}</td><td>{esc(c.get('original', c['name']))}</td>"
            f"<td>{esc(c['type'])}</td><td>{esc(c.get('role', ''))}</td>"
            f"<td class='wb-num'>{c['missing']:,}</td>"
            f"<td class='wb-num'>{c['missing_pct']}</td>"
            f"<td>{esc(c.get('role_reason', ''))}</td></tr>"
            for c in card.get("columns", []))
        parts = [f"<div class='wb-title'>{esc(card.get('name', 'data'))}: "
                 f"{card.get('rows', 0):,} rows</div>", _summary(card),
                 "<table class='wb-table'><tr><th>column</th><th>header in the file</th>"
                 "<th>type</th><th>role</th><th>missing</th><th>missing %</th><th>why</th></tr>"
                 f"{rows}</table>", _reading(card)]
        return f"<div class='wb wb-data-card'>{''.join(parts)}</div>"


def _summary(card: dict[str, Any]) -> str:
    """Label, positive class, split, drops and warnings, in sentences."""
    lines = []
    if card.get("label"):
        task = f" ({card['task']})" if card.get("task") else ""
        lines.append(f"Label: <b>{esc(card['label'])}</b>{esc(task)}.")
    positive = card.get("positive_class")
    if positive:
        lines.append(f"Positive class: <b>{esc(positive['value'])}</b>, because "
                     f"{esc(positive['why'])} (set <code>{esc(positive['parameter'])}</code> to "
                     "choose another).")
    split = card.get("split") or {}
    if split.get("by") in ("time", "key"):
        lines.append(f"Split by {esc(split['by'])}: <code>{esc(split['column'])}</code>.")
    for d in card.get("dropped_columns", []):
        lines.append(f"Not a feature: <code>{esc(d['original'])}</code> ({esc(d['role'])}: "
                     f"{esc(d['reason'])}; change it with <code>feature_roles</code>).")
    for d in card.get("dropped_rows", []):
        lines.append(f"Left out: {d['rows']:,} rows with {esc(d['why'])}.")
    for name, d in (card.get("datetime") or {}).items():
        lines.append(f"<code>{esc(name)}</code>: {esc(d['min'])} to {esc(d['max'])} "
                     f"({esc(d['unit'])}).")
    for w in card.get("warnings", []):
        lines.append(f"<span class='wb-warn'>Warning: {esc(w)}</span>")
    return "".join(f"<div>{line}</div>" for line in lines)


def _reading(card: dict[str, Any]) -> str:
    """How the file was read: each setting, whether detected or given, and the evidence."""
    dialect = (card.get("reading") or {}).get("dialect") or {}
    decisions = dialect.get("decisions") or []
    if not decisions:
        return ""
    rows = "".join(f"<tr><td>{esc(d['field'])}</td><td>{esc(d['value'])}</td>"
                   f"<td>{esc(d['how'])}</td><td>{esc(d.get('evidence', ''))}</td></tr>"
                   for d in decisions)
    return ("<div class='wb-subtitle'>How the file was read (each setting is a stage-01 "
            "parameter of the same name)</div><table class='wb-table'><tr><th>setting</th>"
            f"<th>value</th><th>how</th><th>evidence</th></tr>{rows}</table>")
