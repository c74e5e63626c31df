"""``workbench report``: one self-contained HTML file of a run.

The cover (:mod:`workbench.report.cover`) and each executed stage notebook are joined into one
notebook, which nbconvert renders with the ``workbench_report`` template (beside this module):
code hidden until "show code" is ticked, every widget as the static picture its output carries
(the widget state, which would need a widget manager from the web, is dropped), figures inlined
as data URIs, and nothing that loads from the web — no CDN script, no web font.
"""

from __future__ import annotations

import copy
import html
import importlib.util
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from workbench.errors import ConfigError, WorkbenchError
from workbench.report.cover import cover_html
from workbench.runs.record import RunRecord
from workbench.runs.store import Run

__all__ = ["Report", "build_report", "default_report_path", "render_report"]

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "workbench_report"
#: output data a report cannot show without a kernel or a widget manager from the web
_DROPPED_MIME = ("application/vnd.jupyter.widget-view+json",
                 "application/vnd.jupyter.widget-state+json", "application/javascript")


def _html_cell(fragment: str, cell_id: str) -> nbformat.NotebookNode:
    """A cell that only shows ``fragment`` (an output without code: raw cells are not reliably
    passed through by the lab template)."""
    cell = nbformat.v4.new_code_cell("", id=cell_id, metadata={"tags": ["wb-report"]})
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": fragment})]
    return cell


@dataclass(frozen=True)
class Report:
    path: Path
    bytes: int
    seconds: float
    stages: list[str]


def _css() -> str:
    """The report's styles and the widgets' (their static pictures use the same classes)."""
    parts = [(TEMPLATES / TEMPLATE / "report.css").read_text(encoding="utf-8")]
    # the widgets' folder, found without importing it (the core never imports the widgets)
    spec = importlib.util.find_spec("workbench.widgets")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for css in sorted((Path(folder) / "static").glob("*.css")):
            parts.append(f"/* {css.name} */\n" + css.read_text(encoding="utf-8"))
    return "\n".join(parts)


def _stage_cells(run: Run, record: RunRecord, step: str) -> list[nbformat.NotebookNode]:
    s = record.steps[step]
    header = (f"<div class='wb-step-header' id='step-{html.escape(step)}'>"
              f"<b>{html.escape(step)}</b> · {html.escape(str(s.state))}"
              + (f" · {s.duration_s:.1f} s" if s.duration_s else "")
              + (f" · reused from run {html.escape(s.cached_from)}" if s.cached_from else "")
              + "</div>")
    cells = [_html_cell(header, f"{step}-h")]
    path = run.path / s.notebook if s.notebook else None
    if path is None or not path.is_file():
        cells.append(_html_cell("<p class='wb-muted-text'>no executed notebook for this stage"
                                "</p>", f"{step}-none"))
        return cells
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"{step}-{index}"  # ids are unique per notebook, not across the report
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            data = output.get("data")
            if not data:
                continue
            for mime in _DROPPED_MIME:
                data.pop(mime, None)
            if not data:
                output["data"] = {"text/plain": ""}
        cells.append(cell)
    return cells


def render_report(run: Run, *, stages: list[str] | None = None) -> tuple[str, list[str]]:
    """The report's HTML and the stages it shows (``stages``: a subset, by name)."""
    from nbconvert import HTMLExporter

    record = run.record()
    shown = [s for s in record.steps if not stages or s in stages]
    if stages:
        unknown = [s for s in stages if s not in record.steps]
        if unknown:
            raise ConfigError(f"run {run.id} has no stage {', '.join(unknown)}",
                              hint=f"its stages: {', '.join(record.steps) or 'none yet'}")
    combined = nbformat.v4.new_notebook()
    combined.metadata["title"] = f"Run {run.id}"
    combined.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    combined.metadata["language_info"] = {"name": "python"}
    combined.cells.append(_html_cell(cover_html(record, stages=shown if stages else None),
                                     "cover"))
    for step in shown:
        combined.cells.extend(copy.deepcopy(_stage_cells(run, record, step)))
    exporter = HTMLExporter(template_name=TEMPLATE, extra_template_basedirs=[str(TEMPLATES)])
    body, _ = exporter.from_notebook_node(combined, resources={"report_css": _css()})
    return body, shown


def default_report_path(run: Run) -> Path:
    """Where a report goes without ``--out``: ``<run>/report.html``."""
    return run.path / "report.html"


def build_report(run: Run, *, out: Path | None = None,
                 stages: list[str] | None = None) -> Report:
    """Write the run's report to ``out`` (default ``<run>/report.html``) atomically."""
    started = time.monotonic()
    out = Path(out) if out is not None else default_report_path(run)
    _check_writable(out)
    body, shown = render_report(run, stages=stages)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.replace(out)
    report = Report(out, out.stat().st_size, time.monotonic() - started, shown)
    log.info("report of run %s: %s (%d bytes, %.1f s)", run.id, out, report.bytes,
             report.seconds)
    return report


def _check_writable(out: Path) -> None:
    import os

    folder = out.parent
    if not folder.is_dir():
        raise WorkbenchError(f"cannot write {out}: the folder {folder} does not exist",
                             hint=f"create it first (mkdir -p {folder}) or pick another --out")
    if not os.access(folder, os.W_OK):
        raise WorkbenchError(f"cannot write {out}: the folder {folder} is not writable",
                             hint="pick an --out in a folder you can write")
    if out.is_dir():
        raise WorkbenchError(f"cannot write {out}: it is a folder",
                             hint=f"name a file, e.g. --out {out / 'report.html'}")
