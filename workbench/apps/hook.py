"""Voila's pre-launch hook: put a stage notebook in view mode for one run.

Voila calls :func:`prelaunch_hook` with the page request before it starts the kernel. The run
comes from the page's ``?run=`` query argument, else from ``workbench app --run`` (passed in the
environment), else the latest run that finished the stage. The hook injects ``mode="view"`` and
``run_dir`` into the notebook with papermill, as papermill itself parameterizes notebooks, so the
page shows that run's artifacts and never recomputes.
"""

from __future__ import annotations

import os
from typing import Any

from workbench.errors import WorkbenchError

__all__ = ["RUN_ENV", "inject_parameters", "prelaunch_hook", "view_parameters"]

RUN_ENV = "WORKBENCH_APP_RUN"


def view_parameters(notebook: Any, run_ref: str | None) -> dict[str, Any]:
    """The parameters that turn ``notebook`` into a read-only view of ``run_ref``."""
    from workbench.project import Project

    declared = _declared(notebook)
    params: dict[str, Any] = {}
    if "mode" in declared:
        params["mode"] = "view"
    if run_ref and "run_dir" in declared:
        params["run_dir"] = str(Project.find().store().open(run_ref).path)
    return params


def _declared(notebook: Any) -> set[str]:
    import ast

    for cell in notebook.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            tree = ast.parse(cell.source)
            return {t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                    if isinstance(t, ast.Name)}
    return set()


def inject_parameters(notebook: Any, params: dict[str, Any]) -> Any:
    """Add papermill's ``injected-parameters`` cell after the ``parameters`` cell (replacing an
    earlier injected one), with the source papermill's Python translator writes."""
    import nbformat
    from papermill.translators import translate_parameters

    cell = nbformat.v4.new_code_cell(
        source=translate_parameters("python3", "python", params, "Injected by workbench app"))
    cell.metadata["tags"] = ["injected-parameters"]
    cells = [c for c in notebook.cells
             if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    at = next((i + 1 for i, c in enumerate(cells)
               if "parameters" in c.get("metadata", {}).get("tags", [])), 0)
    notebook.cells = cells[:at] + [cell] + cells[at:]
    return notebook


def prelaunch_hook(req_handler: Any, notebook: Any, cwd: str) -> Any:
    from tornado.web import HTTPError

    run_ref = req_handler.get_argument("run", None) or os.environ.get(RUN_ENV) or None
    try:
        params = view_parameters(notebook, run_ref)
    except WorkbenchError as err:
        raise HTTPError(404, reason=str(err.message)) from err
    return inject_parameters(notebook, params) if params else notebook
