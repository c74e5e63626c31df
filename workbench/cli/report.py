"""``workbench report RUN [--out FILE] [--stages S ...] [--pdf]``."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["register"]


def register(cli: click.Group) -> None:
    @cli.command("report")
    @click.argument("run_ref", metavar="RUN")
    @click.option("--out", type=click.Path(path_type=Path), default=None,
                  help="the HTML file to write (default: <run>/report.html)")
    @click.option("--stages", "stage_refs", multiple=True, metavar="S",
                  help="only these stages (name, short name or number; repeat or comma-separate)")
    @click.option("--pdf", is_flag=True,
                  help="also print it to PDF beside the HTML (headless Chromium)")
    def report_cmd(run_ref: str, out: Path | None, stage_refs: tuple[str, ...],
                   pdf: bool) -> None:
        """One self-contained HTML file of RUN: a cover (outcome, gates, headline metrics,
        lineage), then every executed stage notebook with code hidden (a toggle shows it).
        It opens offline: nothing in it loads from the web."""
        from workbench.cli.diff import resolve_step
        from workbench.project import Project
        from workbench.report.build import build_report

        run = Project.find().store().open(run_ref)
        steps = list(run.record().steps)
        refs = [r.strip() for ref in stage_refs for r in ref.split(",") if r.strip()]
        stages = [resolve_step(r, steps, steps, (run.id, run.id)) for r in refs] or None
        report = build_report(run, out=out, stages=stages)
        click.echo(f"report of run {run.id}: {report.path} ({report.bytes / 1024:.0f} KiB, "
                   f"{len(report.stages)} stage(s), built in {report.seconds:.1f} s)")
        if pdf:
            import time

            from workbench.report.pdf import print_pdf

            started = time.monotonic()
            target = print_pdf(report.path, report.path.with_suffix(".pdf"))
            click.echo(f"PDF: {target} ({target.stat().st_size / 1024:.0f} KiB, "
                       f"{time.monotonic() - started:.1f} s)")
