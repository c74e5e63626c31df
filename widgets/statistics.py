"""Statistics view: every feature with type, missing values, summary and a small histogram;
sortable, searchable, and two datasets overlaid (train vs eval, today vs baseline)."""

from __future__ import annotations

from typing import Any

import traitlets

from workbench.data.views import statistics_rows
from workbench.widgets._base import COLORS, WorkbenchWidget, esc, fmt

__all__ = ["StatisticsView"]


def _fmt(x: Any) -> str:
    """A statistic as ``static/statistics.js`` shows it."""
    return fmt(x, 3, grouped=True, exponent_from=1e6)


def _bars(series: list[list[float]], height: int = 28) -> str:
    """Bars of one or two datasets (shares per bucket) as plain HTML."""
    peak = max((v for s in series for v in s), default=0) or 1.0
    cells = []
    for i in range(max(len(s) for s in series) if series else 0):
        group = "".join(
            f"<span style='display:inline-block;width:4px;margin-right:1px;"
            f"vertical-align:bottom;background-color:{COLORS[k]};"
            f"height:{max(1, round(height * s[i] / peak)) if i < len(s) and s[i] else 0}px'>"
            "</span>" for k, s in enumerate(series))
        cells.append(f"<span style='display:inline-block;margin-right:2px'>{group}</span>")
    return f"<span style='display:inline-block;height:{height}px'>{''.join(cells)}</span>"


def _shares(stats: dict[str, Any]) -> list[float]:
    if "hist" in stats:
        total = sum(b[2] for b in stats["hist"]) or 1.0
        return [b[2] / total for b in stats["hist"]]
    return [b[1] for b in stats.get("bars", [])]


class StatisticsView(WorkbenchWidget):
    """Statistics of one or more named datasets; the first two are overlaid by default."""

    _module = "statistics"
    _styles = ("data_validation.css",)
    data = traitlets.Dict().tag(sync=True)
    flagged = traitlets.Dict().tag(sync=True)  # feature -> "ERROR" | "WARNING"
    title = traitlets.Unicode("Statistics").tag(sync=True)

    def __init__(self, datasets: dict[str, Any], *, flagged: dict[str, str] | None = None,
                 title: str = "Statistics", **kwargs: Any) -> None:
        super().__init__(data=statistics_rows(datasets), flagged=flagged or {}, title=title,
                         **kwargs)

    def static_html(self) -> str:
        names = self.data.get("datasets", [])[:2]
        legend = " vs ".join(f"<span style='color:{COLORS[i]}'>&#9632; {esc(n)}</span>"
                             for i, n in enumerate(names))
        parts = [f"<div class='wb wb-stats'><div class='wb-title'>{esc(self.title)}: "
                 f"{legend}</div>"]
        features = self.data.get("features", [])
        for kind, heads in (("numeric", ["mean", "std", "min", "median", "max", "zeros %"]),
                            ("categorical", ["unique", "top value", "avg length"])):
            rows = [f for f in features if f["kind"] == kind]
            if not rows:
                continue
            head = "".join(f"<th>{h}</th>" for h in
                           ["feature", "type", "dataset", "missing %", *heads, "distribution"])
            body = []
            for f in rows:
                flag = self.flagged.get(f["name"])
                name = esc(f["name"]) + (" <span class='wb-bad'>&#9888;</span>" if flag else "")
                series = [_shares(f["stats"][n]) for n in names if n in f["stats"]]
                for i, n in enumerate(n for n in names if n in f["stats"]):
                    s = f["stats"][n]
                    if kind == "numeric":
                        vals = [s.get("mean"), s.get("std"), s.get("min"), s.get("median"),
                                s.get("max"), s.get("zeros_pct")]
                    else:
                        top = s.get("top") or [["", 0]]
                        vals = [s.get("unique"), top[0][0], s.get("avg_length")]
                    cells = "".join(f"<td class='wb-num'>{esc(_fmt(v))}</td>" for v in vals)
                    lead = (f"<td rowspan='{len(series)}'>{name}</td>"
                            f"<td rowspan='{len(series)}'>{esc(f['type'])}</td>" if i == 0
                            else "")
                    chart = (f"<td rowspan='{len(series)}'>{_bars(series)}</td>" if i == 0
                             else "")
                    body.append(f"<tr>{lead}<td style='color:{COLORS[i]}'>{esc(n)}</td>"
                                f"<td class='wb-num'>{_fmt(s.get('missing_pct'))}</td>"
                                f"{cells}{chart}</tr>")
            parts.append(f"<div class='wb-muted'>{kind} features ({len(rows)})</div>"
                         f"<table class='wb-table'><tr>{head}</tr>{''.join(body)}</table>")
        parts.append("</div>")
        return "".join(parts)
