"""``workbench run``, ``workbench stages`` and ``workbench demo``."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from workbench.params import literal
from workbench.pipeline.params import parse_assignments, read_params_file
from workbench.pipeline.runner import Reporter, Runner, RunOptions
from workbench.pipeline.spec import RESERVED_PARAMETERS, Pipeline, Stage
from workbench.project import Project
from workbench.runs.record import RunState, StepState
from workbench.runs.store import Run

__all__ = ["ConsoleReporter", "register"]


def _rel(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


class ConsoleReporter(Reporter):
    """Prints each stage as it starts and ends, with its time."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def run_started(self, run: Run, stages: list[Stage], resumed: bool) -> None:
        verb = "resuming" if resumed else "run"
        click.echo(f"{verb} {run.id}  ({_rel(run.path)})")
        click.echo(f"stages: {', '.join(s.name for s in stages)}")

    def stage_started(self, stage: Stage, run: Run) -> None:
        click.echo(f"  > {stage.name} ...")

    def stage_skipped(self, stage: Stage, why: str) -> None:
        click.echo(f"  - {stage.name}: {why}")

    def stage_reused(self, stage: Stage, source: Run, why: str) -> None:
        click.echo(f"  = {stage.name}: reused from run {source.id} ({why})")

    def stage_finished(self, stage: Stage, state: str, seconds: float) -> None:
        mark, color = {StepState.SUCCEEDED: ("ok", "green"),
                       StepState.GATE_FAILED: ("GATE FAILED", "red"),
                       StepState.FAILED: ("FAILED", "red")}.get(state, (state, None))
        click.echo(f"  {'+' if state == StepState.SUCCEEDED else 'x'} {stage.name}: "
                   + click.style(mark, fg=color) + f" in {seconds:.1f} s")

    def run_finished(self, run: Run, state: str, seconds: float) -> None:
        if state == RunState.CREATED:  # continued stage by stage: more stages to come
            record = run.record()
            left = [n for n in record.selection or [] if not record.done(n)]
            click.echo(f"run {run.id}: stages done in {seconds:.1f} s; still to run: "
                       f"{', '.join(left)} (workbench run --resume {run.id})")
            return
        color = "green" if state == RunState.SUCCEEDED else "red"
        click.echo(f"run {run.id} " + click.style(state, fg=color)
                   + f" in {seconds:.1f} s: {_rel(run.path)}")


def execute(options: RunOptions, including: tuple[str, ...] = ()) -> Run:
    """Run the pipeline with console progress; errors propagate to the CLI's handler.
    ``including``: optional stages switched on (``--with``)."""
    project = Project.find()
    pipeline = Pipeline.for_project(project).including(including) if including else None
    runner = Runner(project, pipeline, reporter=ConsoleReporter())
    return runner.run(options)


def register(cli: click.Group) -> None:
    @cli.command("run")
    @click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
                  help="set a parameter: KEY=VALUE for every stage that has it, "
                       "STAGE.KEY=VALUE for one stage (repeatable)")
    @click.option("--params", "params_file", type=click.Path(dir_okay=False),
                  help="YAML file of parameters (same shape as workbench.yaml 'parameters')")
    @click.option("--from", "start", metavar="STAGE", help="first stage to run")
    @click.option("--to", "stop", metavar="STAGE", help="last stage to run")
    @click.option("--only", multiple=True, metavar="STAGE", help="run only this stage "
                  "(repeatable); earlier results come from the latest run that has them")
    @click.option("--resume", metavar="RUN", help="continue an interrupted or failed run "
                  "(with --only: execute just those stages of it)")
    @click.option("--force", is_flag=True, help="execute every stage, ignoring the cache")
    @click.option("--cell-timeout", type=float, help="seconds one cell may run")
    @click.option("--kernel-timeout", type=float, help="seconds to wait for a kernel to start")
    @click.option("--with", "including", multiple=True, metavar="STAGE",
                  help="switch on an optional stage: 02_tune (before 02_train), "
                       "07_bulk_inference (after 04_export) (repeatable)")
    def run_cmd(params: tuple[str, ...], params_file: str | None, start: str | None,
                stop: str | None, only: tuple[str, ...], resume: str | None, force: bool,
                cell_timeout: float | None, kernel_timeout: float | None,
                including: tuple[str, ...]) -> None:
        """Run the pipeline headless; each stage notebook is executed with papermill.

        Exits 0 when every stage passed, 3 when a gate failed, 1 on an error.
        """
        options = RunOptions(
            assignments=parse_assignments(params),
            params_file=read_params_file(params_file) if params_file else None,
            start=start, stop=stop, only=list(only) or None, resume=resume, force=force,
            cell_timeout=cell_timeout, kernel_start_timeout=kernel_timeout)
        execute(options, including)

    @cli.command("stages")
    def stages_cmd() -> None:
        """List the pipeline's stages and every parameter they take."""
        pipeline = Pipeline.for_project(Project.find())
        for stage in pipeline.stages:
            click.secho(f"{stage.name}", bold=True, nl=False)
            click.echo(f"  ({_rel(stage.notebook)}; needs: {', '.join(stage.needs) or '-'})")
            params = {f"{n}: {p.type_name}": p for n, p in stage.declared_parameters().items()
                      if n not in RESERVED_PARAMETERS}
            width = max((len(n) for n in params), default=0)
            for name, p in params.items():
                click.echo(f"    {name:<{width}} = {literal(p.default)}"
                           + (f"  # {p.help}" if p.help else ""))
        listed = set(pipeline.names)
        optional = [s.name for s in Pipeline.optional_stages() if s.name not in listed]
        if optional:
            click.echo(f"optional stages (workbench run --with STAGE, or list them in "
                       f"workbench.yaml): {', '.join(optional)}")

    @cli.command("demo")
    @click.option("--force", is_flag=True, help="execute every stage, ignoring the cache")
    def demo_cmd(force: bool) -> None:
        """Run the whole lifecycle on the bundled data and say where to look."""
        run = execute(RunOptions(force=force))
        from workbench.cli.runs import echo_run
        from workbench.runs.report import run_details

        click.echo("")
        echo_run(run_details(run))
        steps = run.record().steps
        click.echo("")
        click.echo(f"Results: {_rel(run.path)}  (manifest: {_rel(run.path / 'run.json')})")
        click.echo("Look at them:")
        click.echo("  make app                                  the site for everyone: the "
                   "live model, its card, try it (127.0.0.1:8866)")
        click.echo("  make lab                                  the notebooks in JupyterLab "
                   "(127.0.0.1:8888)")
        click.echo("  workbench report " + f"{run.id:<24} one HTML file of the run")
        click.echo("  workbench app runs                        every run, as an app")
        for name in steps:
            click.echo(f"  workbench app {name:<19} --run {run.id}")
        click.echo(f"  workbench tensorboard {run.id}   training curves")
        click.echo("  workbench serve status                    the deployed model versions")
