"""A document panel: HTML that the core renders (model card, overview, data quality, the
decision threshold), shown live in Voila and JupyterLab and as the same static picture in an
executed notebook. The HTML comes escaped from :mod:`workbench.apps.html`."""

from __future__ import annotations

from typing import Any

import traitlets

from workbench.widgets._base import WorkbenchWidget

__all__ = ["DOCUMENT", "Document", "HtmlPanel"]

#: the output metadata by which the site's template draws an output on the server (see
#: :class:`Document`)
DOCUMENT = {"workbench": "document"}


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


class Document:
    """A page that is a document (home, overview, model card, data quality): the same HTML as
    an :class:`HtmlPanel`, displayed as an HTML output marked :data:`DOCUMENT`. The site's
    Voila template writes such an output into the page as it streams from the server, so the
    reader sees it before Voila's JavaScript (some 5 MB) has loaded and connected to the
    kernel; a widget would show only then. Nothing is lost: a panel's view only sets its HTML.
    Its stylesheets come inline, as a widget's come with its view."""

    def __init__(self, html: str, *, kind: str = "") -> None:
        self.html = html
        self.kind = kind

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        from workbench.widgets._base import esc

        page = (f"<style>{HtmlPanel._css}</style><div class='wb wb-panel wb-document' "
                f"data-kind='{esc(self.kind)}'>{self.html}</div>")
        return {"text/html": page, "text/plain": f"<{self.kind} page>"}, dict(DOCUMENT)
