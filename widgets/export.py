"""Export and TFLite widgets: the SavedModel's signatures, metadata and checks; the TFLite
variants side by side with the SavedModel."""

from __future__ import annotations

from typing import Any

import traitlets

from workbench.widgets._base import WorkbenchWidget, esc, fmt

__all__ = ["ExportView", "TFLiteView"]

def _size(n: Any) -> str:
    if not isinstance(n, (int, float)):
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def _shape(shape: Any) -> str:
    if shape is None:
        return "unknown"
    return "[" + ", ".join("None" if d in (-1, None) else str(d) for d in shape) + "]"


class ExportView(WorkbenchWidget):
    """Signatures (inputs, dtypes, shapes), metadata, warmup, integrity and the checks."""

    _module = "export_view"
    _styles = ("export.css",)
    report = traitlets.Dict().tag(sync=True)
    integrity = traitlets.Dict().tag(sync=True)

    def __init__(self, report: dict[str, Any], *, integrity: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(report=report, integrity=integrity or {}, **kwargs)

    def static_html(self) -> str:
        r = self.report
        checks = r.get("checks", [])
        ok = all(c.get("passed") for c in checks)
        parts = [f"<div class='wb wb-export'><div class='wb-title'>SavedModel "
                 f"<code>{esc(r.get('saved_model', ''))}</code>: "
                 f"<span class='{'wb-ok' if ok else 'wb-bad'}'>"
                 f"{'all checks passed' if ok else 'checks failed'}</span></div>"]
        for name, sig in r.get("signatures", {}).items():
            rows = "".join(
                f"<tr><td>{side}</td><td>{esc(k)}</td><td>{esc(t['dtype'])}</td>"
                f"<td>{esc(_shape(t['shape']))}</td></tr>"
                for side in ("input", "output")
                for k, t in sig[side + "s"].items())
            parts.append(f"<div class='wb-subtitle'>{esc(name)} "
                         f"<span class='wb-muted'>{esc(sig['method_name'])}</span></div>"
                         "<table class='wb-table'><tr><th></th><th>name</th><th>dtype</th>"
                         f"<th>shape</th></tr>{rows}</table>")
        rows = "".join(
            f"<tr><td class='{'wb-ok' if c['passed'] else 'wb-bad'}'>"
            f"{'&#10004;' if c['passed'] else '&#10008;'}</td><td>{esc(c['name'])}</td>"
            f"<td>{esc(c['detail'])}</td></tr>" for c in checks)
        parts.append("<div class='wb-subtitle'>Checks</div>"
                     f"<table class='wb-table'>{rows}</table>")
        meta = r.get("metadata", {})
        approval = meta.get("approval", {})
        facts = [("run", meta.get("run_id")), ("blessed", r.get("blessed")),
                 ("override", (r.get("override") or {}).get("reason")),
                 ("approval", approval.get("status")), ("approved by", approval.get("by")),
                 ("warmup records", (r.get("warmup") or {}).get("records")),
                 ("signed", (r.get("integrity") or {}).get("signed")),
                 ("size", _size(r.get("size_bytes")))]
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(fmt(v))}</td></tr>" for k, v in facts)
        parts.append(f"<div class='wb-subtitle'>Metadata</div><table class='wb-table'>{rows}"
                     "</table></div>")
        return "".join(parts)


class TFLiteView(WorkbenchWidget):
    """TFLite variants against the SavedModel: size, latency, metrics, agreement; the
    recommended variant, with a selector to see what another rule would pick."""

    _module = "tflite_view"
    _styles = ("export.css",)
    report = traitlets.Dict().tag(sync=True)

    def __init__(self, report: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(report=report, **kwargs)

    def static_html(self) -> str:
        r = self.report
        metric = r.get("metric", "metric")
        sm = r.get("savedmodel", {})
        head = ("<tr><th>variant</th><th>size</th><th>× float32</th><th>batch 1 median ms</th>"
                "<th>batch 1 p95 ms</th><th>batch 64 median ms</th><th>batch 64 p95 ms</th>"
                f"<th>{esc(metric)}</th><th>drop (points)</th><th>agreement</th></tr>")
        lat = sm.get("latency", {})
        rows = [f"<tr class='wb-reference'><td>SavedModel (in process)</td><td></td><td></td>"
                f"<td class='wb-num'>{fmt((lat.get('1') or {}).get('median_ms'))}</td>"
                f"<td class='wb-num'>{fmt((lat.get('1') or {}).get('p95_ms'))}</td>"
                f"<td class='wb-num'>{fmt((lat.get('64') or {}).get('median_ms'))}</td>"
                f"<td class='wb-num'>{fmt((lat.get('64') or {}).get('p95_ms'))}</td>"
                f"<td class='wb-num'>{fmt(sm.get('metrics', {}).get(metric))}</td>"
                "<td></td><td></td></tr>"]
        for v in r.get("variants", []):
            if not v.get("ok"):
                rows.append(f"<tr><td>{esc(v['name'])}</td><td colspan='9' class='wb-bad'>"
                            f"{esc(v.get('error'))}</td></tr>")
                continue
            star = " &#9733;" if v["name"] == r.get("recommended") else ""
            lv = v.get("latency", {})
            rows.append(
                f"<tr><td>{esc(v['name'])}{star}</td><td class='wb-num'>{_size(v['size_bytes'])}"
                f"</td><td class='wb-num'>{fmt(v.get('size_ratio'), 3)}</td>"
                f"<td class='wb-num'>{fmt(lv['1']['median_ms'])}</td>"
                f"<td class='wb-num'>{fmt(lv['1']['p95_ms'])}</td>"
                f"<td class='wb-num'>{fmt(lv['64']['median_ms'])}</td>"
                f"<td class='wb-num'>{fmt(lv['64']['p95_ms'])}</td>"
                f"<td class='wb-num'>{fmt(v['metrics'].get(metric))}</td>"
                f"<td class='wb-num'>{fmt(v.get('drop'), 3)}</td>"
                f"<td class='wb-num'>{fmt(v.get('agreement'), 4)}</td></tr>")
        notes = "".join(f"<li>{esc(n)}</li>" for n in r.get("notes", []))
        return (f"<div class='wb wb-tflite'><div class='wb-title'>TFLite variants: recommended "
                f"<b>{esc(r.get('recommended'))}</b></div><div class='wb-muted'>"
                f"{esc(r.get('reason', ''))}</div><table class='wb-table'>{head}"
                f"{''.join(rows)}</table>{'<ul>' + notes + '</ul>' if notes else ''}</div>")
