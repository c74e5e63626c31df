"""The search as HTML (escaped here; shown live by ``HtmlPanel`` in the stage notebook and the
same in Voila and the executed notebook): the best so far, the trials sorted by score, and one
small scatter per hyperparameter (its value against the score)."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

__all__ = ["live_html", "tuning_html"]


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _v(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def live_html(search: Any) -> str:
    """The view of a :class:`~workbench.tune.search.SearchResult` while it runs."""
    return tuning_html({**search.to_dict(), "resumed_trials": search.resumed},
                       [asdict(t) for t in search.trials], running=True)


def _scatter(name: str, points: list[tuple[Any, float, bool]], higher: bool) -> str:
    """An inline SVG: x = the hyperparameter (numbers on their scale, else categories)."""
    w, h, pad = 180, 110, 18
    xs = [p[0] for p in points]
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs)
    if numeric:
        lo, hi = min(xs), max(xs)
        log = lo > 0 and hi / lo > 20
        f = (lambda v: math.log10(v)) if log else float  # noqa: E731
        span = (f(hi) - f(lo)) or 1.0
        pos = [pad + (f(x) - f(lo)) / span * (w - 2 * pad) for x in xs]
        ticks = f"<text x='{pad}' y='{h - 2}' font-size='9'>{_e(_v(lo))}</text>" \
                f"<text x='{w - pad}' y='{h - 2}' font-size='9' text-anchor='end'>" \
                f"{_e(_v(hi))}</text>"
    else:
        cats = sorted({str(x) for x in xs})
        step = (w - 2 * pad) / max(len(cats) - 1, 1)
        pos = [pad + cats.index(str(x)) * step for x in xs]
        ticks = "".join(f"<text x='{pad + i * step:.0f}' y='{h - 2}' font-size='8' "
                        f"text-anchor='middle'>{_e(c)}</text>" for i, c in enumerate(cats))
    scores = [p[1] for p in points]
    s_lo, s_hi = min(scores), max(scores)
    s_span = (s_hi - s_lo) or 1.0
    dots = "".join(
        f"<circle cx='{x:.1f}' cy='{h - pad - (s - s_lo) / s_span * (h - 2 * pad):.1f}' r='3.5' "
        f"fill='{'#f58518' if best else '#4c78a8'}'><title>{_e(name)}={_e(_v(v))}: "
        f"{s:.4f}</title></circle>"
        for x, s, (v, _, best) in zip(pos, scores, points, strict=True))
    return (f"<figure style='display:inline-block;margin:4px'><svg width='{w}' height='{h}' "
            f"role='img' aria-label='{_e(name)} against the score'>"
            f"<rect x='0' y='0' width='{w}' height='{h}' fill='none' stroke='#ddd'/>"
            f"{dots}{ticks}</svg><figcaption style='font-size:11px'>{_e(name)}</figcaption>"
            "</figure>")


def tuning_html(summary: Mapping[str, Any] | None, trials: Sequence[Mapping[str, Any]], *,
                running: bool = False) -> str:
    s = summary or {}
    higher = s.get("higher_is_better", True)
    metric = s.get("metric", "score")
    done = [t for t in trials if t.get("score") is not None]
    failed = [t for t in trials if t.get("status") == "FAILED"]
    order = sorted(done, key=lambda t: t["score"], reverse=higher)
    best = order[0] if order else None
    parts = [f"<div class='wb-title'>Hyperparameter search{' (running)' if running else ''}"
             "</div>",
             f"<p>{len(trials)} trial(s) of {_e(s.get('algorithm', ''))} search"
             f"{f', {len(failed)} failed' if failed else ''}; objective {_e(metric)} "
             f"({'higher' if higher else 'lower'} is better)."
             + (f" {s['resumed_trials']} finished trial(s) reloaded from an earlier search."
                if s.get("resumed_trials") else "") + "</p>"]
    if best is not None:
        parts.append(f"<p>Best so far: trial {_e(best['trial_id'])}, {_e(metric)} "
                     f"<b>{best['score']:.4f}</b>"
                     + (" (the defaults)" if best.get("defaults") else "") + "</p>")
    if s.get("verdict") and not running:
        parts.append(f"<p><b>{_e(s['verdict'])}</b>. Stopped by the "
                     f"{_e(s.get('stopped_by', ''))} budget.</p>")
    names = sorted({k for t in trials for k in t.get("values", {})})
    if trials:
        head = "".join(f"<th>{_e(n)}</th>" for n in ["trial", metric, *names, "epochs",
                                                       "seconds"])
        rows = []
        for t in order + [t for t in trials if t.get("score") is None]:
            mark = " style='font-weight:bold'" if t is best else ""
            score = f"{t['score']:.4f}" if t.get("score") is not None else \
                _e(t.get("status", ""))
            label = f"{t['trial_id']}{' (defaults)' if t.get('defaults') else ''}"
            cells = [label, score, *(_v(t.get("values", {}).get(n, "")) for n in names),
                     t.get("epochs", ""), f"{t.get('seconds', 0):.1f}"]
            rows.append(f"<tr{mark}>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
        parts.append(f"<table class='wb-table'><tr>{head}</tr>{''.join(rows)}</table>")
    if len(done) >= 2:
        figs = []
        for n in names:
            points = [(t["values"][n], float(t["score"]), t is best) for t in done
                      if n in t.get("values", {})]
            if len({str(p[0]) for p in points}) >= 2:
                figs.append(_scatter(n, points, higher))
        if figs:
            parts.append(f"<div class='wb-subtitle'>Each hyperparameter against {_e(metric)} "
                         "(orange: the best trial)</div>" + "".join(figs))
    return "<div class='wb-tuning'>" + "".join(parts) + "</div>"
