"""The site's home page: what each app answers, the run the pages show, the live model."""

from __future__ import annotations

from workbench.apps.html import esc
from workbench.apps.live import live_model
from workbench.apps.page import PageProblem, page_run, run_banner
from workbench.apps.site import APPS, app_url
from workbench.project import Project

__all__ = ["home_html"]


def home_html(query: str | None, project: Project | None = None) -> str:
    project = project or Project.find()
    parts = ["<p class='wb-lead'>What the model is, whether it is good, and what it says about "
             "a case of your own. Pick a page.</p>"]
    run_id = None
    try:
        page = page_run(query, project, allow_unfinished=True)
        run_id = page.id
        parts.append(run_banner(page))
    except PageProblem as problem:
        parts.append(problem.html())
    live = live_model(project)
    if live is not None:
        labels = ", ".join(live.label_names) or "no label"
        served = "a server answers requests now" if live.server else "no server runs right now"
        parts.append(f"<p>Live model: <b>{esc(live.name)}</b> version {live.version} "
                     f"({esc(labels)}), from run <code>{esc(live.run_id or '?')}</code>; "
                     f"{served}.</p>")
    else:
        parts.append("<p>No model is deployed yet (the serving stage puts one in the "
                     "model repository).</p>")
    cards = []
    for app in APPS:
        if app.name == "home":
            continue
        cards.append(f"<div class='wb-card wb-app-card' data-app='{esc(app.name)}'>"
                     f"<h3><a href='{esc(app_url(app.name, run_id))}'>{esc(app.title)}</a></h3>"
                     f"<p>{esc(app.blurb)}</p></div>")
    parts.append("<div class='wb-cards'>" + "".join(cards) + "</div>")
    parts.append("<p class='wb-muted'>For engineers: each pipeline stage has a read-only view "
                 "(the <i>stages</i> links in the bar above).</p>")
    return "".join(parts)
