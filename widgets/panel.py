"""A document panel: HTML that the core renders (model card, overview, data quality, the
decision threshold), shown live in Voila and JupyterLab and as the same static picture in an
executed notebook. The HTML comes escaped from :mod:`workbench.apps.html`."""

from __future__ import annotations

from typing import Any

import traitlets

from workbench.widgets._base import WorkbenchWidget

__all__ = ["HtmlPanel"]


class HtmlPanel(WorkbenchWidget):
    _module = "html_panel"
    _styles = ("apps.css",)
    html = traitlets.Unicode("").tag(sync=True)
    #: what the panel shows (for tests and the page's outline)
    kind = traitlets.Unicode("").tag(sync=True)

    def __init__(self, html: str, *, kind: str = "", **kwargs: Any) -> None:
        super().__init__(html=html, kind=kind, **kwargs)

    def static_html(self) -> str:
        return f"<div class='wb wb-panel'>{self.html}</div>"
