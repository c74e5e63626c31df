"""Base class of the workbench's widgets.

A widget is a small class with its state in synced traits; its JavaScript (``static/<name>.js``)
and the shared stylesheet (``static/workbench.css``) sit beside this file and ship in the
package, so it renders offline. Each widget also has a static HTML picture, sent alongside the
live view: a notebook opened later without a kernel (or untrusted) still shows it.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, ClassVar

import anywidget

__all__ = ["STATIC", "WorkbenchWidget", "esc"]

STATIC = Path(__file__).parent / "static"


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


class WorkbenchWidget(anywidget.AnyWidget):
    #: file stem of the widget's ES module in ``static/``
    _module: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Before anywidget's hook, which turns these paths into file contents.
        if cls.__dict__.get("_module"):
            cls._esm = STATIC / f"{cls._module}.js"
            cls._css = STATIC / "workbench.css"
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
