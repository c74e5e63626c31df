"""Base class of the workbench's widgets.

A widget is a small class with its state in synced traits; its JavaScript (``static/<name>.js``,
after the helpers in ``static/_common.js``) and the shared stylesheet (``static/workbench.css``)
sit beside this file and ship in the package, so it renders offline. Each widget also has a static HTML picture, sent alongside the
live view: a notebook opened later without a kernel (or untrusted) still shows it.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import anywidget

from workbench._format import number

__all__ = ["COLORS", "STATIC", "WorkbenchWidget", "esc", "figure_data_uri", "fmt", "png_img"]

STATIC = Path(__file__).parent / "static"
COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(x: Any, digits: int = 4, *, grouped: bool = False, exponent_from: float = 1e5) -> str:
    """A number as the tables show it: at most ``digits`` decimals, trailing zeros dropped
    (with thousands separators if ``grouped``); below 1e-3 or from ``exponent_from`` up, three
    significant digits; integers with thousands separators; booleans as yes/no; missing values
    as a dash.

    Not :func:`workbench._format.number` (significant digits, for messages): a cell mirrors the
    ``fmt`` of the live JavaScript view (``static/metrics_table.js``; ``static/statistics.js``
    is ``grouped=True, exponent_from=1e6``), so the static picture reads like the live view,
    and a mean like 52,345.6 keeps its integer digits instead of becoming 5.235e+04."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x != 0 and (abs(x) >= exponent_from or abs(x) < 1e-3):
            return number(x, 3)
        return f"{x:{',' if grouped else ''}.{digits}f}".rstrip("0").rstrip(".")
    return str(x)


def figure_data_uri(draw: Callable[[Any], None], *, width: float = 6.0, height: float = 3.0,
                    dpi: int = 90) -> str:
    """Render ``draw(fig)`` on a matplotlib figure (Agg, no pyplot state) as a PNG data URI."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    draw(fig)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def png_img(draw: Callable[[Any], None], *, width: float = 6.0, height: float = 3.0,
            alt: str = "chart") -> str:
    """An ``<img>`` of ``draw(fig)`` (static pictures: notebook sanitizers keep data URIs)."""
    return f"<img alt='{esc(alt)}' src='{figure_data_uri(draw, width=width, height=height)}'/>"


class WorkbenchWidget(anywidget.AnyWidget):
    #: file stem of the widget's ES module in ``static/``
    _module: ClassVar[str] = ""
    #: stylesheets in ``static/`` added after ``workbench.css`` (a family's own rules)
    _styles: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Before anywidget's hook, which turns paths into file contents.
        if cls.__dict__.get("_module"):
            cls._esm = "\n".join((STATIC / name).read_text(encoding="utf-8")
                                 for name in ("_common.js", f"{cls._module}.js"))
            cls._css = "\n".join((STATIC / name).read_text(encoding="utf-8")
                                 for name in ("workbench.css", *cls._styles))
        super().__init_subclass__(**kwargs)

    def static_html(self) -> str:
        """A self-contained HTML picture of the widget's current state (no scripts, no styles
        beyond what JupyterLab's sanitizer keeps)."""
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, meta = bundle
        data["text/html"] = self.static_html()
        return data, meta
