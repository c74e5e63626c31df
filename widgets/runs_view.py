"""Runs overview: every run with its state; click one to see its steps, gates and metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import traitlets

from workbench.project import Project
from workbench.runs.report import run_details, runs_overview
from workbench.runs.store import RunStore
from workbench.widgets._base import WorkbenchWidget, esc

__all__ = ["RunsView"]


class RunsView(WorkbenchWidget):
    _module = "runs_view"
    runs = traitlets.List().tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    details = traitlets.Dict().tag(sync=True)

    def __init__(self, store: RunStore, *, selected: str = "", **kwargs: Any) -> None:
        self._store = store
        rows = runs_overview(store)
        first = selected or (rows[0]["run_id"] if rows else "")
        if first and "/" in first:
            first = Path(first).name
        super().__init__(runs=rows, **kwargs)
        self.selected = first

    @classmethod
    def for_project(cls, project: Project | None = None, *, selected: str = "") -> RunsView:
        return cls((project or Project.find()).store(), selected=selected)

    @traitlets.observe("selected")
    def _load_details(self, change: dict[str, Any]) -> None:
        self.details = run_details(self._store.open(change["new"])) if change["new"] else {}

    def static_html(self) -> str:
        rows = "".join(
            f"<tr><td><code>{esc(r['run_id'])}</code></td><td>{esc(r['state'])}</td>"
            f"<td>{esc(r['created'][:19].replace('T', ' '))}</td>"
            f"<td class='wb-num'>{r['done']}/{len(r['steps'])}</td>"
            f"<td>{esc(', '.join(r['failed_gates'] or r['stopped_at']))}</td></tr>"
            for r in self.runs)
        return ("<div class='wb'><div class='wb-title'>Runs</div><table class='wb-table'>"
                "<tr><th>run</th><th>state</th><th>created (UTC)</th><th>steps done</th>"
                f"<th>stopped at</th></tr>{rows}</table></div>")
