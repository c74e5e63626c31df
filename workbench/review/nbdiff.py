"""nbdime diffs of two runs' executed notebooks, with run-to-run noise taken out first.

Two executions of one stage notebook differ in things nobody changed: papermill's timestamps
and durations, the kernel's execution times, widget model ids, the run's own folder and id, and
temporary paths. :func:`stable_notebook` removes or masks them (outputs stay: a changed table or
figure is what a reviewer wants to see), :func:`notebook_diff` diffs two such notebooks with
nbdime, and :func:`render_diff` prints the diff as nbdime's ``nbdiff`` does, without colour.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

__all__ = ["NotebookDiff", "notebook_diff", "render_diff", "shorten_blobs",
           "stable_notebook", "step_notebook"]

#: notebook metadata written by the execution, not by the author
_VOLATILE_NB_METADATA = ("papermill", "widgets")
#: cell metadata written by the execution
_VOLATILE_CELL_METADATA = ("execution", "papermill", "ExecuteTime", "collapsed", "scrolled")
#: output data that differs on every execution while showing the same thing (the widget's
#: static HTML/PNG picture is kept beside it)
_VOLATILE_MIME = ("application/vnd.jupyter.widget-view+json",)
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
_TMP_PATH = re.compile(r"/tmp/[^\s\"'<>)]+")
_HEX_ID = re.compile(r"\b[0-9a-f]{32}\b")  # widget model ids, kernel ids
_ADDRESS = re.compile(r" at 0x[0-9a-f]+>")  # reprs of objects: <… object at 0x7f…>


def _mask(text: str, run_path: str | None, run_id: str | None) -> str:
    if run_path:
        text = text.replace(run_path, "<run>")
    if run_id:
        text = text.replace(run_id, "<run-id>")
    text = _ISO_TIME.sub("<time>", text)
    text = _TMP_PATH.sub("<tmp>", text)
    text = _ADDRESS.sub(" at 0x…>", text)
    return _HEX_ID.sub("<id>", text)


def _mask_all(value: Any, run_path: str | None, run_id: str | None) -> Any:
    if isinstance(value, str):
        return _mask(value, run_path, run_id)
    if isinstance(value, list):
        return [_mask_all(v, run_path, run_id) for v in value]
    if isinstance(value, dict):
        return {k: _mask_all(v, run_path, run_id) for k, v in value.items()}
    return value


def stable_notebook(nb: nbformat.NotebookNode, *, run_path: str | Path | None = None,
                    run_id: str | None = None) -> nbformat.NotebookNode:
    """A copy of an executed notebook without what changes on every execution: execution
    timestamps and counts, papermill's timings and paths and the random id of the cell it
    injects, widget ids and state, the run's folder and id, temporary paths and ISO timestamps
    inside outputs."""
    path = str(run_path) if run_path else None
    out = nbformat.from_dict(_mask_all(nbformat.from_dict(nb), path, run_id))
    for key in _VOLATILE_NB_METADATA:
        out.metadata.pop(key, None)
    for index, cell in enumerate(out.cells):
        for key in _VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = f"injected-parameters-{index}"  # papermill draws a new one each time
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        for output in cell.get("outputs", []):
            if output.get("output_type") == "execute_result":
                output["execution_count"] = None
            data = output.get("data")
            if data:
                for mime in _VOLATILE_MIME:
                    if len(data) > 1:
                        data.pop(mime, None)
    return out


def step_notebook(run: Any, step: str) -> Path | None:
    """The executed notebook of ``step`` in ``run`` (a :class:`~workbench.runs.store.Run`), or
    None when the step has none."""
    record = run.step(step)
    if record is None or not record.notebook:
        return None
    path = run.path / record.notebook
    return path if path.is_file() else None


@dataclass
class NotebookDiff:
    """The nbdime diff of one step's notebooks in two runs."""

    step: str
    a: nbformat.NotebookNode
    b: nbformat.NotebookNode
    diff: list[dict[str, Any]]

    @property
    def changed(self) -> bool:
        return bool(self.diff)

    def changed_cells(self) -> list[dict[str, Any]]:
        """``{"cell": index in A, "parts": [...]}`` for every cell the diff touches (cells added
        or removed count as parts ``added`` / ``removed``)."""
        cells: list[dict[str, Any]] = []
        for entry in self.diff:
            if entry.get("key") != "cells":
                continue
            for op in entry.get("diff", []):
                if op["op"] == "patch":
                    parts = sorted({d["key"] for d in op.get("diff", [])})
                    cells.append({"cell": op["key"], "parts": parts})
                elif op["op"] == "addrange":
                    cells.append({"cell": op["key"], "parts": ["added"],
                                  "count": len(op.get("valuelist", []))})
                elif op["op"] == "removerange":
                    cells.append({"cell": op["key"], "parts": ["removed"],
                                  "count": op.get("length", 0)})
        return cells

    def to_dict(self) -> dict[str, Any]:
        return {"changed": self.changed, "cells": self.changed_cells(), "nbdime": self.diff}


def notebook_diff(step: str, run_a: Any, run_b: Any) -> NotebookDiff | None:
    """The diff of ``step``'s executed notebooks in two runs, volatile fields ignored; None when
    either run has no executed notebook for the step."""
    import nbdime

    paths = step_notebook(run_a, step), step_notebook(run_b, step)
    if paths[0] is None or paths[1] is None:
        return None
    a, b = (stable_notebook(nbformat.read(p, as_version=4), run_path=run.path, run_id=run.id)
            for p, run in zip(paths, (run_a, run_b), strict=True))
    return NotebookDiff(step, a, b, nbdime.diff_notebooks(a, b))


def render_diff(d: NotebookDiff) -> str:
    """The diff as text, as ``nbdiff`` prints it (cells, sources and outputs), no colour."""
    from nbdime.prettyprint import PrettyPrintConfig, pretty_print_diff

    buf = io.StringIO()
    config = PrettyPrintConfig(out=buf, use_color=False, use_git=False, use_diff=False)
    pretty_print_diff(d.a, d.diff, "nb", config)
    return shorten_blobs(buf.getvalue())


_BASE64_RUN = re.compile(r"(data:[\w/+.-]+;base64,)?([A-Za-z0-9+/]{200,}={0,2})")


def _short_blob(match: re.Match[str]) -> str:
    import hashlib

    blob = match.group(2)
    digest = hashlib.sha256(blob.encode()).hexdigest()[:12]
    return f"{match.group(1) or ''}<{len(blob) * 3 // 4} bytes, sha256 {digest}>"


def shorten_blobs(text: str) -> str:
    """Long base64 runs (inlined images) as their size and hash: a changed figure still shows
    as a changed line, without kilobytes of noise."""
    return _BASE64_RUN.sub(_short_blob, text)
