"""``workbench diff RUN_A RUN_B [--step S] [--web] [--json]``."""

from __future__ import annotations

import json
from typing import Any

import click

from workbench.errors import WorkbenchError

__all__ = ["format_summary", "register", "resolve_step"]


def resolve_step(ref: str, a: list[str], b: list[str], ids: tuple[str, str]) -> str:
    """A step by name, short name (``train``) or number (``2``) among the steps of both runs;
    a step only one run has, or none has, is an error naming the shared steps."""
    def match(steps: list[str]) -> str | None:
        for s in steps:
            head, _, tail = s.partition("_")
            if ref in (s, tail) or (ref.isdigit() and head.isdigit() and int(ref) == int(head)):
                return s
        return None

    found_a, found_b = match(a), match(b)
    if ids[0] == ids[1] and not found_a:
        raise WorkbenchError(f"run {ids[0]} has no step '{ref}'",
                             hint=f"its steps: {', '.join(a) or 'none yet'}")
    shared = ", ".join(s for s in a if s in b) or "none"
    if found_a and found_a == found_b:
        return found_a
    if found_a or found_b:
        has, lacks = (ids[0], ids[1]) if found_a else (ids[1], ids[0])
        raise WorkbenchError(f"step '{found_a or found_b}' is in run {has} only; run {lacks} "
                             "never ran it",
                             hint=f"diff a step both runs have: {shared}")
    raise WorkbenchError(f"neither run has a step '{ref}'", hint=f"steps both runs have: {shared}")


def format_summary(d: dict[str, Any]) -> str:
    """The summary of :func:`workbench.review.rundiff.diff_runs` as text, section by section."""
    from workbench.cli.runs import format_table
    from workbench.review.summary import summary_sections

    title, intro, sections = summary_sections(d)
    out = [title, *(f"  {line}" for line in intro)]
    for section in sections:
        out.append("")
        out.append(section.title + ("" if section.rows else ": unchanged"))
        if section.rows:
            out.append(format_table(section.rows, section.header))
        out += [f"  {note}" for note in section.notes]
    return "\n".join(out)


def register(cli: click.Group) -> None:
    @cli.command("diff")
    @click.argument("run_a", metavar="RUN_A")
    @click.argument("run_b", metavar="RUN_B")
    @click.option("--step", "step_ref", metavar="S",
                  help="only this step's notebook diff (name, short name or number)")
    @click.option("--web", is_flag=True,
                  help="open nbdime's web diff of one step (--step) on 127.0.0.1")
    @click.option("--port", type=int, default=0, help="port of --web (default: a free one)")
    @click.option("--no-browser", is_flag=True, help="with --web: print the address only")
    @click.option("--json", "as_json", is_flag=True, help="the whole diff as one JSON object")
    @click.option("--summary", "summary_only", is_flag=True,
                  help="the summary only, no notebook diffs")
    def diff_cmd(run_a: str, run_b: str, step_ref: str | None, web: bool, port: int,
                 no_browser: bool, as_json: bool, summary_only: bool) -> None:
        """What changed from RUN_A to RUN_B: parameters, data, gates, metrics, artifacts,
        packages; then each step's executed notebooks diffed with nbdime (timestamps, ids,
        timings and paths ignored; outputs included)."""
        from workbench.project import Project
        from workbench.review.nbdiff import notebook_diff, render_diff
        from workbench.review.rundiff import diff_runs

        if web and not step_ref:
            raise click.UsageError("--web shows one step: add --step S")
        store = Project.find().store()
        ra, rb = store.open(run_a), store.open(run_b)
        ma, mb = ra.record(), rb.record()
        if step_ref:
            steps = [resolve_step(step_ref, list(ma.steps), list(mb.steps), (ra.id, rb.id))]
        elif summary_only:
            steps = []
        else:
            steps = [s for s in ma.steps if s in mb.steps]
        notebooks: dict[str, Any] = {}
        for step in steps:
            nd = notebook_diff(step, ra, rb)
            if nd is None:
                missing = [r.id for r in (ra, rb) if not _has_notebook(r, step)]
                if step_ref:
                    raise WorkbenchError(
                        f"step {step} did not run in run {' and '.join(missing)} (no executed "
                        "notebook)", hint="diff a step that ran in both; `workbench runs show "
                        f"{missing[0]}` lists its steps")
                notebooks[step] = {"missing_in": missing}
            else:
                notebooks[step] = nd
        if web:
            from workbench.review.web import serve_web_diff

            raise SystemExit(serve_web_diff(
                notebooks[steps[0]], ra.id, rb.id, port=port, open_browser=not no_browser,
                on_url=lambda url: click.echo(f"nbdime diff of {steps[0]} at {url}  "
                                              "(Ctrl-C stops)")))
        summary = diff_runs(ra, rb)
        if as_json:
            click.echo(json.dumps({
                "summary": summary,
                "notebooks": {s: n if isinstance(n, dict) else n.to_dict()
                              for s, n in notebooks.items()}}, default=str))
            return
        click.echo(format_summary(summary))
        if summary_only:
            return
        for step, nd in notebooks.items():
            click.echo("")
            if isinstance(nd, dict):
                click.secho(f"notebook {step}: did not run in {', '.join(nd['missing_in'])}",
                            bold=True)
                continue
            cells = nd.changed_cells()
            click.secho(f"notebook {step}: " + (
                f"{len(cells)} cell(s) changed" if cells else "unchanged"), bold=True)
            if cells:
                click.echo(render_diff(nd).rstrip())


def _has_notebook(run: Any, step: str) -> bool:
    from workbench.review.nbdiff import step_notebook

    return step_notebook(run, step) is not None
