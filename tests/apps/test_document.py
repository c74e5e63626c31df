"""A document page's output: the HTML of the page, marked for the site's template to draw on the
server, with the widgets' stylesheets inline."""

from __future__ import annotations

from workbench.widgets.panel import DOCUMENT, Document, HtmlPanel


def test_a_document_is_html_marked_for_the_server():
    data, meta = Document("<p>hello</p>", kind="home'x")._repr_mimebundle_()
    assert meta == DOCUMENT
    html = data["text/html"]
    assert html.startswith("<style>") and HtmlPanel._css in html
    assert "<div class='wb wb-panel wb-document' data-kind='home&#x27;x'><p>hello</p></div>" \
        in html

