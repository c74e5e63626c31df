"""Small HTML builders for the stakeholder apps and the model card (escaped, no scripts).

The core renders documents as HTML strings (the model card is also written to a file); the
widgets only show them. Colour never carries meaning alone: every status has a word.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["details", "esc", "num", "pct", "sparkline", "status", "table"]


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def pct(x: float | None, digits: int = 0) -> str:
    """A share as a percentage (``0.734`` → ``73 %``); a dash when unknown."""
    if x is None:
        return "–"
    return f"{x * 100:.{digits}f} %"


def num(x: Any, digits: int = 3) -> str:
    """A number for people: integers grouped, floats to ``digits`` significant digits."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
            return f"{x:.{digits}g}"
        text = f"{x:,.{max(digits - len(str(int(abs(x)))), 0)}f}" if abs(x) >= 1 \
            else f"{x:.{digits}g}"
        return text
    return str(x)


def status(ok: bool | None, yes: str = "passed", no: str = "failed") -> str:
    """A status word with a mark and a colour (the word alone carries the meaning)."""
    if ok is None:
        return "<span class='wb-muted'>– unknown</span>"
    return (f"<span class='wb-ok'>✓ {esc(yes)}</span>" if ok
            else f"<span class='wb-bad'>✗ {esc(no)}</span>")


def table(head: Sequence[str], rows: Iterable[Sequence[Any]], *, cls: str = "",
          raw: bool = False) -> str:
    """A table; cells are escaped unless ``raw`` (then they are HTML already)."""
    cell = (lambda c: "" if c is None else str(c)) if raw else esc
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    header = "".join(f"<th>{esc(h)}</th>" for h in head)
    return f"<table class='wb-table {esc(cls)}'><tr>{header}</tr>{body}</table>"


def details(summary: str, body: str, *, cls: str = "") -> str:
    """Details for engineers, one click away."""
    return (f"<details class='{esc(cls)}'><summary>{esc(summary)}</summary>{body}"
            "</details>")


def sparkline(values: Sequence[float | None], *, width: int = 120, height: int = 28,
              label: str = "") -> str:
    """A small inline SVG line of ``values`` (oldest first); gaps for missing values."""
    pts = [(i, v) for i, v in enumerate(values) if v is not None]
    if not pts:
        return "<span class='wb-muted'>no data</span>"
    lo = min(v for _, v in pts)
    hi = max(v for _, v in pts)
    span = (hi - lo) or 1.0
    n = max(len(values) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return 3 + i * (width - 6) / n, height - 3 - (v - lo) * (height - 6) / span

    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in pts))
    last = xy(*pts[-1])
    title = esc(f"{label}: " if label else "") + esc(", ".join(num(v) for _, v in pts))
    return (f"<svg class='wb-spark' width='{width}' height='{height}' role='img' "
            f"aria-label='{title}'><title>{title}</title><polyline points='{line}'/>"
            f"<circle cx='{last[0]:.1f}' cy='{last[1]:.1f}' r='2.5'/></svg>")
