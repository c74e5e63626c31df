"""Runs overview: every run with its state; click one to see its steps, gates and metrics, and
pick a second run to see what changed between the two (:func:`workbench.review.html.diff_html`:
the summary in order of importance, then each step's notebook diff)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import traitlets

from workbench.errors import WorkbenchError
from workbench.project import Project
from workbench.runs.report import run_details, runs_overview
from workbench.runs.store import RunStore
from workbench.widgets._base import WorkbenchWidget, esc

__all__ = ["RunsView"]

log = logging.getLogger(__name__)


class RunsView(WorkbenchWidget):
    _module = "runs_view"
    runs = traitlets.List().tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    details = traitlets.Dict().tag(sync=True)
    #: the run to compare the selected one with ("" : none); the diff goes from it to selected
    compare = traitlets.Unicode("").tag(sync=True)
    #: the diff of ``compare`` → ``selected`` as HTML (escaped, from the core)
    diff_html = traitlets.Unicode("").tag(sync=True)
    #: "" (no diff asked), "computing", "done" or "error"
    diff_state = traitlets.Unicode("").tag(sync=True)

    def __init__(self, store: RunStore, *, selected: str = "", compare: str = "",
                 **kwargs: Any) -> None:
        self._store = store
        rows = runs_overview(store)
        first = selected or (rows[0]["run_id"] if rows else "")
        if first and "/" in first:
            first = Path(first).name
        super().__init__(runs=rows, **kwargs)
        self.selected = first
        self.compare = Path(compare).name if compare else ""

    @classmethod
    def for_project(cls, project: Project | None = None, *, selected: str = "",
                    compare: str = "") -> RunsView:
        return cls((project or Project.find()).store(), selected=selected, compare=compare)

    @traitlets.observe("selected")
    def _load_details(self, change: dict[str, Any]) -> None:
        self.details = run_details(self._store.open(change["new"])) if change["new"] else {}
        self._diff()

    @traitlets.observe("compare")
    def _compare(self, change: dict[str, Any]) -> None:
        self._diff()

    def _diff(self) -> None:
        """The diff from ``compare`` to ``selected`` (nothing when either is unset or both are
        one run); a run that cannot be read gives the reason instead."""
        from workbench.review.html import diff_html

        other, run = self.compare, self.selected
        if not other or not run or other == run:
            self.diff_state, self.diff_html = "", ""
            return
        self.diff_state, self.diff_html = "computing", ""
        try:
            html = diff_html(self._store.open(other), self._store.open(run))
        except Exception as err:  # noqa: BLE001 - the page says why instead of waiting forever
            if not isinstance(err, WorkbenchError):
                log.exception("diff of runs %s and %s", other, run)
            self.diff_html = (f"<div class='wb-badbox wb-diff-error'>Cannot compare run "
                              f"{esc(other)} with {esc(run)}: {esc(err)}</div>")
            self.diff_state = "error"
            return
        self.diff_html, self.diff_state = html, "done"

    def static_html(self) -> str:
        rows = "".join(
            f"<tr><td><code>{esc(r['run_id'])}</code></td><td>{esc(r['state'])}</td>"
            f"<td>{esc(r['created'][:19].replace('T', ' '))}</td>"
            f"<td class='wb-num'>{r['done']}/{len(r['steps'])}</td>"
            f"<td>{esc(', '.join(r['failed_gates'] or r['stopped_at']))}</td></tr>"
            for r in self.runs)
        return ("<div class='wb'><div class='wb-title'>Runs</div><table class='wb-table'>"
                "<tr><th>run</th><th>state</th><th>created (UTC)</th><th>steps done</th>"
                f"<th>stopped at</th></tr>{rows}</table>{self.diff_html}</div>")
