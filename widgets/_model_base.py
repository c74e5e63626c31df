"""Base of the training and evaluation widgets: the shared stylesheet plus their own rules, and
pictures for the static fallback (inline PNG, which notebook sanitizers keep)."""

from __future__ import annotations

import base64
import io
from typing import Any

from workbench.widgets._base import STATIC, WorkbenchWidget

__all__ = ["ModelWidget", "fmt", "png_img"]

_CSS = (STATIC / "workbench.css").read_text(encoding="utf-8") + "\n" + \
    (STATIC / "model.css").read_text(encoding="utf-8")

COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2")


class ModelWidget(WorkbenchWidget):
    """A workbench widget styled with ``workbench.css`` and ``model.css``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("_module"):
            cls._css = _CSS


def fmt(x: Any, digits: int = 4) -> str:
    """A number as the tables show it; missing values as a dash."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
            return f"{x:.3g}"
        return f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return str(x)


def png_img(draw: Any, *, width: float = 6.0, height: float = 3.0, alt: str = "chart") -> str:
    """Render ``draw(fig)`` with matplotlib (Agg) and return an ``<img>`` with a data URI."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=90)
    draw(fig)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"<img alt='{alt}' src='data:image/png;base64,{data}'/>"
