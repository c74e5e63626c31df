"""A stage notebook as a view on the site: its cells executed in the page's own (preheated)
kernel, in view mode for the page's run.

Voila refuses a pre-launch hook together with preheated kernels, so on the site the stage views
are one app, ``apps/stage.ipynb?stage=03_evaluate&run=RUN``: it reads the stage notebook,
injects ``mode="view"`` and ``run_dir`` after its ``parameters`` cell (as papermill does,
:func:`workbench.apps.hook.inject_parameters`), then shows each markdown cell and runs each code
cell in the kernel, so the stage's widgets render in the page. TensorFlow and the widgets are
imported before the page is requested. A cell that fails stops the view with the stage's
message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.apps.page import RUNS_LINK, PageProblem, page_run
from workbench.project import Project
from workbench.runs.store import Run

__all__ = ["StageView", "stage_view"]


@dataclass
class StageView:
    stage: str
    notebook: Path
    cells: list[tuple[str, str, bool]]  # (kind, source, hidden)
    run_id: str
    why: str
    run: Run | None = None  # the run viewed (its report is offered for download)


def stage_view(query: str | None, project: Project | None = None) -> StageView:
    """The cells to show for ``?stage=…&run=…``, or a PageProblem."""
    import nbformat

    from workbench.apps.hook import inject_parameters, view_parameters
    from workbench.errors import ConfigError
    from workbench.pipeline.spec import Pipeline
    from workbench.runs.record import StepState

    project = project or Project.find()
    page = page_run(query, project, allow_unfinished=True)
    ref = page.query.get("stage", "")
    pipeline = Pipeline.for_project(project)
    try:
        stage = pipeline.stage(ref) if ref else None
    except ConfigError:
        # an optional stage the project does not list, switched on for a run (run --with)
        stage = next((s for s in Pipeline.optional_stages() if ref and s.matches(ref)), None)
    if stage is None:
        raise PageProblem(f"There is no stage '{ref}'." if ref else "Which stage?",
                          hint=f"Add ?stage= with one of: {', '.join(pipeline.names)}.")
    step = page.record.step(stage.name)
    finished = (StepState.SUCCEEDED, StepState.CACHED, StepState.GATE_FAILED)
    if step is None or step.state not in finished:
        state = step.state if step else "not run"
        raise PageProblem(f"Run {page.id} has no finished {stage.name} step ({state}).",
                          hint="Pick a run that got that far.", links=(RUNS_LINK,))
    nb = nbformat.read(stage.notebook, as_version=4)
    params = view_parameters(nb, str(page.run.path))
    if params.get("mode") != "view" or "run_dir" not in params:
        raise PageProblem(f"The notebook of stage {stage.name} has no view mode (its "
                          "parameters cell declares no mode and run_dir), so it is not "
                          "shown: showing it would compute.")
    nb = inject_parameters(nb, params)
    cells = [(c.cell_type, c.source, "hide" in c.get("metadata", {}).get("tags", [])
              or "parameters" in c.get("metadata", {}).get("tags", [])
              or "injected-parameters" in c.get("metadata", {}).get("tags", []))
             for c in nb.cells if c.cell_type in ("markdown", "code")]
    return StageView(stage.name, stage.notebook, cells, page.id, page.why, page.run)


def run_cells(view: StageView, shell: Any, display: Any, markdown: Any) -> bool:
    """Show markdown, run code in ``shell`` (IPython's); False when a cell failed."""
    for kind, source, hidden in view.cells:
        if kind == "markdown":
            display(markdown(source))
            continue
        result = shell.run_cell(source, silent=hidden, store_history=False)
        if not result.success:
            return False
    return True
