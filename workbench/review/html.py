"""The diff of two runs as one HTML fragment (the runs app shows it): the summary of
:func:`~workbench.review.rundiff.diff_runs`, section by section in order of importance, then
each shared step's notebook diff as ``workbench diff`` prints it (:func:`~workbench.review.
nbdiff.render_diff`). Escaped, no scripts: a reader gets a document, never code to run."""

from __future__ import annotations

from typing import Any

from workbench.apps.html import esc, table
from workbench.review.nbdiff import notebook_diff, render_diff
from workbench.review.rundiff import diff_runs
from workbench.review.summary import summary_sections
from workbench.runs.store import Run

__all__ = ["MAX_NOTEBOOK_CHARS", "diff_html", "summary_html"]

#: a step's notebook diff is cut after this many characters (the command shows all of it)
MAX_NOTEBOOK_CHARS = 200_000


def summary_html(d: dict[str, Any]) -> str:
    """The summary of :func:`diff_runs` as HTML: one heading and table per section."""
    _, intro, sections = summary_sections(d)
    a, b = d["a"]["run"], d["b"]["run"]
    parts = [f"<div class='wb-title wb-diff-title'>What changed from run <code>{esc(a)}</code> "
             f"({esc(d['a']['state'])}) to run <code>{esc(b)}</code> ({esc(d['b']['state'])})"
             "</div>"]
    parts += [f"<p class='wb-warnbox'>{esc(line)}</p>" for line in intro]
    for s in sections:
        parts.append(f"<section class='wb-diff-section' data-section='{esc(s.title)}'>"
                     f"<div class='wb-subtitle'>{esc(s.title)}"
                     + ("" if s.rows else " <span class='wb-muted'>unchanged</span>")
                     + "</div>")
        if s.rows:
            parts.append(table(s.header, s.rows))
        parts += [f"<p class='wb-muted'>{esc(note)}</p>" for note in s.notes]
        parts.append("</section>")
    return "".join(parts)


def _notebook_html(step: str, run_a: Run, run_b: Run) -> str:
    d = notebook_diff(step, run_a, run_b)
    if d is None:
        return (f"<details class='wb-nbdiff' data-step='{esc(step)}' data-cells='-1'><summary>"
                f"{esc(step)}: no executed notebook in one of the runs</summary></details>")
    cells = d.changed_cells()
    if not cells:
        return (f"<details class='wb-nbdiff' data-step='{esc(step)}' data-cells='0'><summary>"
                f"{esc(step)}: notebook unchanged</summary></details>")
    text = render_diff(d).rstrip()
    cut = ""
    if len(text) > MAX_NOTEBOOK_CHARS:
        text = text[:MAX_NOTEBOOK_CHARS]
        cut = (f"<p class='wb-muted'>cut after {MAX_NOTEBOOK_CHARS:,} characters; "
               f"<code>workbench diff {esc(run_a.id)} {esc(run_b.id)} --step {esc(step)}</code> "
               "shows all of it</p>")
    return (f"<details class='wb-nbdiff' data-step='{esc(step)}' data-cells='{len(cells)}'>"
            f"<summary>{esc(step)}: {len(cells)} cell(s) changed</summary>"
            f"<pre class='wb-pre wb-nbdiff-text'>{esc(text)}</pre>{cut}</details>")


def diff_html(run_a: Run, run_b: Run) -> str:
    """Everything that changed from ``run_a`` to ``run_b``, as one HTML fragment."""
    d = diff_runs(run_a, run_b)
    notebooks = "".join(_notebook_html(step, run_a, run_b) for step in d["steps"]["shared"])
    command = f"workbench diff {run_a.id} {run_b.id}"
    return (f"<div class='wb-diff' data-a='{esc(run_a.id)}' data-b='{esc(run_b.id)}'>"
            f"{summary_html(d)}<div class='wb-subtitle'>notebooks (nbdime, execution noise "
            f"removed; open one)</div>{notebooks or '<p class=wb-muted>no step in common</p>'}"
            f"<p class='wb-muted'>The same in a terminal: <code>{esc(command)}</code> "
            f"(<code>--web --step S</code> for nbdime's side-by-side view).</p></div>")
