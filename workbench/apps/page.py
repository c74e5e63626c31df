"""Which run a page shows: ``?run=RUN`` from the page's query string, else the run of the live
model, else the newest run that succeeded. A page that cannot show a run says why and what to
do (a :class:`PageProblem`), instead of raising into the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from workbench.apps.html import esc
from workbench.errors import RunStoreError, WorkbenchError
from workbench.project import Project
from workbench.runs.record import RunRecord, RunState
from workbench.runs.store import Run

__all__ = ["PageProblem", "PageRun", "default_run", "page_run", "query_args", "run_banner"]

UNFINISHED = (RunState.CREATED, RunState.RUNNING)


class PageProblem(WorkbenchError):
    """The page cannot show what was asked; ``html`` says why and links what helps."""

    def __init__(self, message: str, *, hint: str | None = None, links: tuple = ()) -> None:
        super().__init__(message, hint=hint)
        self.links = links

    def html(self, base: str = "/") -> str:
        links = "".join(f"<li><a href='{esc(base + href)}'>{esc(text)}</a></li>"
                        for text, href in self.links)
        hint = f"<p>{esc(self.hint)}</p>" if self.hint else ""
        return (f"<div class='wb-badbox wb-problem'><p class='wb-lead'>{esc(self.message)}</p>"
                f"{hint}{'<ul>' + links + '</ul>' if links else ''}</div>")


RUNS_LINK = ("See every run", "voila/render/runs.ipynb")


@dataclass
class PageRun:
    run: Run
    record: RunRecord
    why: str  # how the run was chosen, in words
    project: Project
    query: dict[str, str]

    @property
    def id(self) -> str:
        return self.run.id


def query_args(query: str | None) -> dict[str, str]:
    """``a=1&b=2`` as a mapping (first value of each key)."""
    return {k: v[0] for k, v in parse_qs((query or "").lstrip("?")).items() if v}


def default_run(project: Project) -> tuple[Run | None, str]:
    """The live model's run, else the newest successful run (and why it was chosen)."""
    from workbench.apps.live import live_model

    store = project.store()
    live = live_model(project)
    if live is not None and live.run_id:
        try:
            return store.open(live.run_id), (f"the run of the live model ({live.name} version "
                                             f"{live.version})")
        except RunStoreError:
            pass
    run = store.latest(lambda r: r.state == RunState.SUCCEEDED)
    if run is not None:
        return run, "the newest run that succeeded"
    return None, ""


def page_run(query: str | None, project: Project | None = None, *,
             allow_unfinished: bool = False) -> PageRun:
    """The run a page shows, or a PageProblem saying why there is none."""
    project = project or Project.find()
    args = query_args(query)
    store = project.store()
    ref = args.get("run", "").strip()
    if ref:
        try:
            run = store.open(ref)
        except RunStoreError as err:
            raise PageProblem(f"There is no run '{ref}' in this project.",
                              hint="Pick one on the runs page, or remove ?run= from the "
                                   "address to see the live model's run.",
                              links=(RUNS_LINK,)) from err
        why = "picked in the address (?run=)"
    else:
        run, why = default_run(project)
        if run is None:
            if not store.runs():
                raise PageProblem(
                    "This project has no runs yet.",
                    hint="Run the pipeline once: `make demo` (or `workbench run`) in the "
                         f"project folder {project.root}, then reload this page.")
            raise PageProblem("No run has succeeded yet, and no model is deployed.",
                              hint="Open a run from the runs page to see where it stopped.",
                              links=(RUNS_LINK,))
    record = run.record()
    if record.state in UNFINISHED and not allow_unfinished:
        done = ", ".join(s for s, r in record.steps.items() if r.done) or "no stage"
        raise PageProblem(f"Run {run.id} has not finished yet ({record.state}; done: {done}).",
                          hint="Wait for it to finish, or pick a finished run.",
                          links=(RUNS_LINK,))
    return PageRun(run, record, why, project, args)


def run_banner(page: PageRun) -> str:
    """One line under the title: which run, chosen how, and its state."""
    state = str(page.record.state).replace("_", " ")
    return (f"<p class='wb-muted wb-run-banner' data-run='{esc(page.id)}'>Run "
            f"<code>{esc(page.id)}</code> ({esc(state)}), {esc(page.why)}.</p>")
