"""Anomalies view: what the validation found, feature by feature, with severity, what was
expected and what was found."""

from __future__ import annotations

from typing import Any

import traitlets

from workbench.widgets._base import WorkbenchWidget, esc

__all__ = ["AnomaliesView"]


class AnomaliesView(WorkbenchWidget):
    _styles = ("data_validation.css",)
    _module = "anomalies"
    rows = traitlets.List().tag(sync=True)
    gate = traitlets.Dict().tag(sync=True)

    def __init__(self, rows: list[dict[str, Any]], *, gate: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(rows=list(rows), gate=dict(gate or {}), **kwargs)

    def static_html(self) -> str:
        errors = sum(1 for r in self.rows if r.get("severity") == "ERROR")
        warnings = sum(1 for r in self.rows if r.get("severity") == "WARNING")
        if not self.rows:
            return ("<div class='wb wb-anomalies'><span class='wb-ok'>&#10004; No anomalies: "
                    "the data matches the schema.</span></div>")
        heads = ["feature", "severity", "anomaly", "expected", "found", "details"]
        body = "".join(
            f"<tr><td>{esc(r['feature'])}{'' if r.get('dataset', 'data') == 'data' else ' (' + esc(r['dataset']) + ')'}</td>"
            f"<td class='{'wb-bad' if r['severity'] == 'ERROR' else 'wb-warn'}'>"
            f"{esc(r['severity'])}</td><td>{esc(r['short'])}<br><span class='wb-muted'>"
            f"{esc(r['type'])}</span></td><td>{esc(r.get('expected', ''))}</td>"
            f"<td>{esc(r.get('found', ''))}</td><td>{esc(r['description'])}</td></tr>"
            for r in self.rows)
        return (f"<div class='wb wb-anomalies'><div class='wb-title'>Anomalies: {errors} "
                f"error(s), {warnings} warning(s)</div><table class='wb-table'><tr>"
                + "".join(f"<th>{h}</th>" for h in heads) + f"</tr>{body}</table></div>")
