"""Data card: the columns of a dataset with their types and missing values."""

from __future__ import annotations

from typing import Any

import traitlets

from workbench.widgets._base import WorkbenchWidget, esc

__all__ = ["DataCardView"]


class DataCardView(WorkbenchWidget):
    _module = "data_card"
    card = traitlets.Dict().tag(sync=True)

    def __init__(self, card: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(card=card, **kwargs)

    def static_html(self) -> str:
        card = self.card
        rows = "".join(
            f"<tr><td>{esc(c['name'])}</td><td>{esc(c['type'])}</td>"
            f"<td class='wb-num'>{c['missing']:,}</td>"
            f"<td class='wb-num'>{c['missing_pct']}</td></tr>"
            for c in card.get("columns", []))
        return (f"<div class='wb'><div class='wb-title'>{esc(card.get('name', 'data'))}: "
                f"{card.get('rows', 0):,} rows</div>"
                "<table class='wb-table'><tr><th>column</th><th>type</th><th>missing</th>"
                f"<th>missing %</th></tr>{rows}</table></div>")
