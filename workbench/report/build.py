"""``workbench report``: one self-contained HTML file of a run.

The cover (:mod:`workbench.report.cover`) and each executed stage notebook are joined into one
notebook, which nbconvert renders with the ``workbench_report`` template (beside this module):
code hidden until "show code" is ticked, every widget as the static picture its output carries
(the widget state, which would need a widget manager from the web, is dropped), figures inlined
as data URIs, and nothing that loads from the web — no CDN script, no web font.

What would make the file big without telling the reader more is downsampled
(:func:`shrink_output`): progress bars redrawn with carriage returns (Keras' per-batch lines)
keep their last state, long text outputs keep their head and tail, and HTML tables longer than
:data:`MAX_TABLE_ROWS` rows keep their first rows; each cut says how much was left out and
that the run's executed notebook has all of it.
"""

from __future__ import annotations

import copy
import html
import importlib.util
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from workbench.errors import ConfigError, WorkbenchError
from workbench.report.cover import cover_html
from workbench.runs.record import RunRecord
from workbench.runs.store import Run

__all__ = ["MAX_TABLE_ROWS", "MAX_TEXT_LINES", "Report", "build_report", "default_report_path",
           "render_report", "shrink_output"]

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE = "workbench_report"
#: output data a report cannot show without a kernel or a widget manager from the web
_DROPPED_MIME = ("application/vnd.jupyter.widget-view+json",
                 "application/vnd.jupyter.widget-state+json", "application/javascript")
#: lines of a text output kept (half from its start, half from its end)
MAX_TEXT_LINES = 60
#: body rows of an HTML table kept in an output
MAX_TABLE_ROWS = 100

#: everything up to a carriage return that does not end the line: a redrawn progress bar
_REDRAWN = re.compile(r"[^\n]*\r(?!\n)")
#: an innermost table (no table inside it)
_TABLE = re.compile(r"<table\b(?:(?!<table\b).)*?</table>", re.S | re.I)
_ROW = re.compile(r"<tr\b.*?</tr>", re.S | re.I)
_CELL = re.compile(r"<t[dh]\b", re.I)


def _shrink_text(text: str, where: str) -> str:
    text = _REDRAWN.sub("", text)
    lines = text.splitlines(keepends=True)
    if len(lines) <= MAX_TEXT_LINES:
        return text
    half = MAX_TEXT_LINES // 2
    left = len(lines) - 2 * half
    return "".join([*lines[:half], f"… {left:,} lines left out here ({where} has them "
                    "all) …\n", *lines[-half:]])


def _shrink_tables(fragment: str, where: str) -> str:
    def cut(match: re.Match[str]) -> str:
        table = match.group(0)
        rows = list(_ROW.finditer(table))
        header = 1 if rows and "<th" in rows[0].group(0).lower() else 0
        if len(rows) - header <= MAX_TABLE_ROWS:
            return table
        kept = rows[header + MAX_TABLE_ROWS - 1]
        columns = max(len(_CELL.findall(r.group(0))) for r in rows[:header + 1])
        left = len(rows) - header - MAX_TABLE_ROWS
        note = (f"<tr class='wb-cut'><td colspan='{columns}'>… {left:,} more rows left out "
                f"({html.escape(where)} has them all)</td></tr>")
        return table[:kept.end()] + note + table[rows[-1].end():]

    return _TABLE.sub(cut, fragment)


def shrink_output(output: dict, where: str) -> dict:
    """One cell output, downsampled where it would bloat the report (in place; returned).
    ``where`` names what has the whole output (the stage's executed notebook)."""
    if output.get("output_type") == "stream":
        text = output.get("text", "")
        output["text"] = _shrink_text("".join(text) if isinstance(text, list) else text, where)
        return output
    data = output.get("data") or {}
    for mime in _DROPPED_MIME:
        data.pop(mime, None)
    if "text/plain" in data and isinstance(data["text/plain"], str):
        data["text/plain"] = _shrink_text(data["text/plain"], where)
    if "text/html" in data:
        fragment = data["text/html"]
        fragment = "".join(fragment) if isinstance(fragment, list) else fragment
        data["text/html"] = _shrink_tables(fragment, where)
    if output.get("output_type") in ("display_data", "execute_result") and not data:
        output["data"] = {"text/plain": ""}
    return output


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
            shrink_output(output, f"the executed notebook {s.notebook}")
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
