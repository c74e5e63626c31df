"""Drift view: each compared feature's distance to the baseline (and to serving data) against
its threshold; says so when there was no baseline to compare with."""

from __future__ import annotations

from typing import Any

import traitlets

from workbench.widgets._base import WorkbenchWidget, esc

__all__ = ["DriftView"]


def _bar(value: float, threshold: float) -> str:
    scale = max(value, threshold, 1e-9) * 1.1
    color = "#cf222e" if value > threshold else "#1a7f37"
    return (f"<span style='display:inline-block;position:relative;width:160px;height:10px;"
            f"background-color:#eaeef2'><span style='position:absolute;left:0;top:0;"
            f"height:10px;width:{round(160 * value / scale)}px;background-color:{color}'>"
            f"</span><span style='position:absolute;top:-2px;left:"
            f"{round(160 * threshold / scale)}px;width:2px;height:14px;"
            f"background-color:#1f2328'></span></span>")


class DriftView(WorkbenchWidget):
    _styles = ("data_validation.css",)
    _module = "drift"
    drift = traitlets.Dict().tag(sync=True)

    def __init__(self, drift: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(drift=dict(drift), **kwargs)

    def static_html(self) -> str:
        d = self.drift
        notes = "".join(f"<div class='wb-muted'>{esc(n)}</div>" for n in d.get("notes", []))
        rows = d.get("comparisons", [])
        if not rows:
            return (f"<div class='wb wb-drift'><div class='wb-title'>Drift and skew</div>"
                    f"{notes}<div>No feature was compared.</div></div>")
        body = "".join(
            f"<tr><td>{esc(r['feature'])}</td><td>{esc(r['kind'])}</td>"
            f"<td>{'L-infinity' if r['metric'] == 'L_INFTY' else 'Jensen-Shannon'}</td>"
            f"<td class='wb-num'>{r['value']:.4f}</td><td class='wb-num'>{r['threshold']:g}</td>"
            f"<td>{_bar(r['value'], r['threshold'])}</td>"
            f"<td class='{'wb-bad' if r['exceeded'] else 'wb-ok'}'>"
            f"{'above threshold' if r['exceeded'] else 'ok'}</td></tr>" for r in rows)
        return (f"<div class='wb wb-drift'><div class='wb-title'>Drift and skew</div>{notes}"
                "<table class='wb-table'><tr><th>feature</th><th>check</th><th>metric</th>"
                "<th>distance</th><th>threshold</th><th></th><th>status</th></tr>"
                f"{body}</table></div>")
