"""The model card page: the card of the page's run, with its downloads."""

from __future__ import annotations

from workbench.apps.modelcard import build_card
from workbench.apps.modelcard_render import card_html, downloads_html
from workbench.apps.page import page_run, run_banner
from workbench.project import Project

__all__ = ["model_card_html"]


def model_card_html(query: str | None, project: Project | None = None) -> str:
    page = page_run(query, project)
    card = build_card(page.run, page.project)
    return run_banner(page) + downloads_html(card) + card_html(card)
