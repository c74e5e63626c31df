"""The bulk-inference summary as HTML (escaped here; shown by ``HtmlPanel`` in the stage
notebook, in Voila and in the executed notebook alike)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["summary_html"]


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _bars(counts: Mapping[str, int], total: int) -> str:
    rows = []
    for label, n in counts.items():
        share = n / total if total else 0.0
        rows.append(f"<tr><td>{_e(label)}</td><td style='text-align:right'>{n:,}</td>"
                    f"<td style='width:50%'><div style='background:#4c78a8;height:0.8em;"
                    f"width:{share * 100:.1f}%'></div></td><td>{share:.1%}</td></tr>")
    return "<table class='wb-table'>" + "".join(rows) + "</table>"


def summary_html(summary: Mapping[str, Any], rejects: Sequence[Mapping[str, Any]] = ()) -> str:
    """Rows, throughput, the predicted classes (or values), the reject reasons and the first
    rejected rows."""
    s = summary
    model = s.get("model", {})
    parts = [
        "<div class='wb-title'>Bulk inference</div>",
        f"<p>Scored <b>{s['scored']:,}</b> of {s['rows']:,} rows in {s['seconds']:.1f} s "
        f"({s['rows_per_s']:,.0f} rows/s); <b>{s['rejected']:,}</b> rejected.</p>",
        f"<p class='wb-muted'>Model version {_e(model.get('workbench.model_version', ''))}, "
        f"run {_e(model.get('workbench.run_id', '') or 'unknown')}, "
        f"{_e(model.get('workbench.variant', ''))}"
        + (" — <b>unblessed model, scored by override</b>"
           if model.get("workbench.unblessed_override") == "true" else "") + "</p>",
    ]
    dist = s.get("distribution", {})
    if "classes" in dist:
        parts.append("<div class='wb-subtitle'>Predicted classes</div>"
                     + _bars(dist["classes"], s["scored"]))
    hist = dist.get("probability_histogram")
    if hist and s["scored"]:
        edges = hist["edges"]
        labels = {f"{edges[i]:.2f}–{edges[i + 1]:.2f}": n for i, n in enumerate(hist["counts"])}
        parts.append(f"<div class='wb-subtitle'>Probability of class {_e(hist['class'])}</div>"
                     + _bars(labels, s["scored"]))
    if "value" in dist and dist["value"].get("count"):
        v = dist["value"]
        parts.append("<div class='wb-subtitle'>Predicted value</div><table class='wb-table'>"
                     + "".join(f"<tr><td>{k}</td><td>{v[k]:.4g}</td></tr>" for k in
                               ("min", "p10", "p50", "mean", "p90", "max")) + "</table>")
    if s.get("reject_reasons"):
        parts.append("<div class='wb-subtitle'>Why rows were rejected</div>"
                     + _bars(s["reject_reasons"], s["rejected"]))
    if rejects:
        head = "".join(f"<th>{_e(c)}</th>" for c in ("row", "key", "reason", "values"))
        body = "".join("<tr>" + "".join(f"<td>{_e('' if r.get(c) is None else r.get(c))}</td>"
                                        for c in ("row", "key", "reason", "values")) + "</tr>"
                       for r in rejects)
        parts.append(f"<div class='wb-subtitle'>First rejected rows</div>"
                     f"<table class='wb-table'><tr>{head}</tr>{body}</table>")
    parts.append(f"<p class='wb-muted'>Predictions: <code>{_e(s.get('out', ''))}</code>; "
                 f"rejects: <code>{_e(s.get('rejects', ''))}</code></p>")
    return "<div class='wb-bulk'>" + "".join(parts) + "</div>"
