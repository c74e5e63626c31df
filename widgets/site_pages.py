"""The site's document pages (home, overview, model card, data quality): each a function of
the page's query string that returns the page's widgets. The core renders the HTML; a page
that cannot show its run says why (never a traceback in the page)."""

from __future__ import annotations

from workbench.apps.html import esc
from workbench.apps.page import PageProblem
from workbench.widgets.panel import Document, HtmlPanel

__all__ = ["data_quality_page", "home_page", "model_card_page", "overview_page", "preheated",
           "preload_tryout",
           "serving_page", "stage_page",
           "try_page"]


def _guarded(kind: str, build, query: str | None) -> Document:  # noqa: ANN001
    try:
        return Document(build(query), kind=kind)
    except PageProblem as problem:
        return Document(problem.html(), kind="problem")


def home_page(query: str | None = None) -> Document:
    from workbench.apps.home import home_html

    return _guarded("home", home_html, query)


def stage_page(query: str | None = None) -> None:
    """A stage notebook's cells, in view mode for the page's run (see
    :mod:`workbench.apps.stage_view`), under its banner and the button that downloads the
    run's report; shows a problem instead when it cannot."""
    from IPython import get_ipython
    from IPython.display import Markdown, display

    from workbench.apps.stage_view import run_cells, stage_view

    try:
        view = stage_view(query)
    except PageProblem as problem:
        display(HtmlPanel(problem.html(), kind="problem"))
        return
    display(HtmlPanel(f"<p class='wb-muted wb-run-banner' data-run='{esc(view.run_id)}'>Stage "
                      f"<b>{esc(view.stage)}</b> of run <code>{esc(view.run_id)}</code> ({esc(view.why)}), "
                      "read-only.</p>", kind="stage-banner"))
    if view.run is not None:  # the run's report, to download, under the banner
        from workbench.widgets.report_download import ReportDownload

        display(ReportDownload(view.run))
    run_cells(view, get_ipython(), display, Markdown)


def overview_page(query: str | None = None) -> Document:
    from workbench.apps.overview import overview_html

    return _guarded("overview", overview_html, query)


def model_card_page(query: str | None = None) -> Document:
    from workbench.apps.card_page import model_card_html

    return _guarded("model_card", model_card_html, query)


def preload_tryout() -> object | None:
    """Load the default run's model before the page is requested (a preheated kernel runs
    this ahead); None when there is no default run or it cannot be tried."""
    from workbench.apps.page import page_run
    from workbench.apps.tryit import Tryout
    from workbench.errors import WorkbenchError

    try:
        page = page_run("")
        return Tryout(page.run, page.project)
    except WorkbenchError:
        return None


def try_page(query: str | None = None, preloaded: object | None = None) -> object:
    """The try-the-model page for the page's run (the preloaded model when it is that run's)."""
    from ipywidgets import VBox

    from workbench.apps.page import page_run, run_banner
    from workbench.apps.tryit import Tryout
    from workbench.errors import WorkbenchError
    from workbench.widgets.try_model import TryModelView

    try:
        page = page_run(query)
        tryout = preloaded if getattr(preloaded, "run", None) is not None \
            and preloaded.run.path == page.run.path else Tryout(page.run, page.project)
    except PageProblem as problem:
        return HtmlPanel(problem.html(), kind="problem")
    except WorkbenchError as err:
        return HtmlPanel(PageProblem(err.message, hint=err.hint).html(), kind="problem")
    return VBox([HtmlPanel(run_banner(page), kind="banner"), TryModelView(tryout)])


def data_quality_page(query: str | None = None) -> Document:
    from workbench.apps.quality import quality_html

    return _guarded("data_quality", quality_html, query)


def serving_page(query: str | None = None) -> object:
    """The live monitor, and below it the check of what the server received against the
    training data (computed in the background: the monitor shows at once)."""
    from ipywidgets import VBox

    from workbench.widgets.production_data import ProductionDataView
    from workbench.widgets.serving_monitor import ServingMonitorView

    return VBox([ServingMonitorView(), ProductionDataView()])


def preheated(app: str) -> None:
    """Say in the site's log that this app's kernel has run up to its query (only while
    preheating): Voila logs a pool as filled when its kernel starts, before the notebook has
    imported anything, so benchmarks and tests wait for this line instead."""
    import os
    import sys

    if os.environ.get("VOILA_PREHEAT") == "True":
        print(f"workbench-site: {app} preheated", file=sys.__stderr__, flush=True)
