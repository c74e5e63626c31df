"""Execute a pipeline: each stage notebook with papermill into its step folder of a run.

The runner owns a run for as long as it executes it (see :meth:`Run.owned`), injects ``run_dir``,
``step`` and ``mode`` plus the user's parameters, reuses earlier identical executions (cache),
stops at the first failed gate or failed stage, and reports progress through a :class:`Reporter`.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError, GateFailed, RunStoreError, StageFailed
from workbench.pipeline.cache import find_cached, fingerprint, link_step
from workbench.pipeline.environment import collect_environment
from workbench.pipeline.params import effective_parameters, plain, resolve_parameters
from workbench.pipeline.spec import Pipeline, Stage
from workbench.project import Project
from workbench.runs.record import RunState, StepRecord, StepState
from workbench.runs.step import verify_step
from workbench.runs.store import Run, RunStore, now_iso

__all__ = ["Reporter", "RunOptions", "Runner"]

log = logging.getLogger(__name__)


class Reporter:
    """Receives progress events; the CLI prints them, tests record them. Default: log them."""

    def run_started(self, run: Run, stages: list[Stage], resumed: bool) -> None:
        log.info("run %s: %s", run.id, ", ".join(s.name for s in stages))

    def stage_started(self, stage: Stage, run: Run) -> None:
        log.info("%s started", stage.name)

    def stage_skipped(self, stage: Stage, why: str) -> None:
        log.info("%s skipped: %s", stage.name, why)

    def stage_reused(self, stage: Stage, source: Run, why: str) -> None:
        log.info("%s reused from %s (%s)", stage.name, source.id, why)

    def stage_finished(self, stage: Stage, state: str, seconds: float) -> None:
        log.info("%s %s in %.1f s", stage.name, state, seconds)

    def run_finished(self, run: Run, state: str, seconds: float) -> None:
        log.info("run %s %s in %.1f s", run.id, state, seconds)


@dataclass
class RunOptions:
    assignments: dict[str, Any] = field(default_factory=dict)
    params_file: dict[str, Any] | None = None
    start: str | None = None
    stop: str | None = None
    only: list[str] | None = None
    resume: str | None = None
    force: bool = False
    kernel_start_timeout: float | None = None
    cell_timeout: float | None = None


class Runner:
    def __init__(self, project: Project, pipeline: Pipeline | None = None,
                 reporter: Reporter | None = None) -> None:
        self.project = project
        self.pipeline = pipeline or Pipeline.for_project(project)
        self.store: RunStore = project.store()
        self.reporter = reporter or Reporter()

    # -- public --------------------------------------------------------------------------------
    def run(self, options: RunOptions) -> Run:
        """Execute the selected stages; raises :class:`GateFailed` or :class:`StageFailed`."""
        if options.resume:
            run, targets, overrides = self._prepare_resume(options)
        else:
            targets = self.pipeline.select(start=options.start, stop=options.stop,
                                           only=options.only)
            overrides = resolve_parameters(self.pipeline, targets,
                                           params_file=options.params_file,
                                           assignments=options.assignments)
            self._check_needs_available(targets)
            run = self.store.create(
                parameters={k: plain(v) for k, v in {**(options.params_file or {}),
                                                     **options.assignments}.items()},
                pipeline=self.pipeline.names,
                environment=collect_environment(self.project.root),
            )
            run.set(selection=[s.name for s in targets],
                    overrides={k: plain(v) for k, v in overrides.items()})
        started = time.monotonic()
        with run.owned():
            run.set(state=RunState.RUNNING, ended=None)
            self.reporter.run_started(run, targets, bool(options.resume))
            try:
                for stage in targets:
                    self._stage(run, stage, overrides.get(stage.name, {}), options)
            except GateFailed:
                self._end_run(run, RunState.GATE_FAILED, started)
                raise
            except KeyboardInterrupt:
                self._end_run(run, RunState.INTERRUPTED, started)
                raise
            except BaseException:
                self._end_run(run, RunState.FAILED, started)
                raise
            self._end_run(run, _finished_state(run, options), started)
        return run

    # -- internals -----------------------------------------------------------------------------
    def _end_run(self, run: Run, state: RunState, started: float) -> None:
        seconds = time.monotonic() - started
        ended = None if state == RunState.CREATED else now_iso()
        run.set(state=state, ended=ended, duration_s=round(seconds, 3))
        self.reporter.run_finished(run, state, seconds)

    def _prepare_resume(self, options: RunOptions) -> tuple[Run, list[Stage], dict[str, Any]]:
        if options.assignments or options.params_file or options.start or options.stop:
            raise ConfigError(
                "--resume continues a run with the stages and parameters it started with",
                hint="drop -p/--params/--from/--to, or start a new run to change them")
        run = self.store.open(options.resume)
        manifest = run.record()
        if run.is_owned():
            raise RunStoreError(f"run {run.id} is still being executed",
                                hint="wait for it, or stop that process first")
        names = manifest.selection or manifest.pipeline or []
        try:
            targets = [self.pipeline.stage(n) for n in names]
        except ConfigError as err:
            raise ConfigError(f"run {run.id} has stages the current pipeline lacks: {err}",
                              hint="restore the stage in workbench.yaml, or start a new run"
                              ) from err
        if options.only:  # one step of an orchestrated run (e.g. a Kubeflow Pipelines step)
            chosen = {self.pipeline.stage(ref).name for ref in options.only}
            outside = sorted(chosen - {s.name for s in targets})
            if outside:
                raise ConfigError(
                    f"run {run.id} does not include {', '.join(outside)}",
                    hint=f"its stages: {', '.join(s.name for s in targets) or 'none'}")
            targets = [s for s in targets if s.name in chosen]
        return run, targets, manifest.overrides or {}

    def _stage(self, run: Run, stage: Stage, overrides: dict[str, Any],
               options: RunOptions) -> None:
        if options.resume and run.record().done(stage.name):
            self.reporter.stage_skipped(stage, "finished earlier in this run")
            return
        for need in stage.needs:
            self._ensure_need(run, stage, need)
        params = effective_parameters(stage, overrides)
        key = fingerprint(run, stage, params, self.project.root)
        if stage.cache and not options.force:
            source = find_cached(self.store, stage, key.key, run)
            if source is not None:
                link_step(source, run, stage.name, state=StepState.CACHED)
                self.reporter.stage_reused(stage, source, "same notebook, parameters and inputs")
                return
        self._execute(run, stage, overrides, params, key.key, key.parts, options)

    def _check_needs_available(self, targets: list[Stage]) -> None:
        """Refuse before a run is created when a stage needs results nobody has."""
        chosen = {s.name for s in targets}
        for stage in targets:
            for need in stage.needs:
                if need not in chosen and self.store.latest_with(need) is None:
                    raise ConfigError(
                        f"stage {stage.name} needs the results of {need}, and no run has them",
                        hint=f"run it first: workbench run --to {need}")

    def _ensure_need(self, run: Run, stage: Stage, need: str) -> None:
        """Make sure a stage's input step is in the run and intact (its recorded hashes enter
        the stage's cache key, so a changed file must be caught here, not trusted). A check
        that already hashed the content in this run is reused (:mod:`workbench.runs.verify`)."""
        if run.record().done(need):
            verify_step(run, need)
            return
        source = self.store.latest_with(need, exclude=run)
        if source is None:
            raise ConfigError(
                f"stage {stage.name} needs the results of {need}, and no run has them",
                hint=f"run it first: workbench run --to {need}")
        verify_step(source, need)
        link_step(source, run, need, state=StepState.CACHED)
        self.reporter.stage_reused(self.pipeline.stage(need), source,
                                   f"input of {stage.name}")

    def _execute(self, run: Run, stage: Stage, overrides: dict[str, Any],
                 params: dict[str, Any], key: str, parts: dict[str, str],
                 options: RunOptions) -> None:
        import papermill
        from papermill.exceptions import PapermillExecutionError

        from workbench.pipeline.kernel import kernel_manager_logging_to

        step_dir = run.step_dir(stage.name)
        _clear(step_dir)
        step_dir.mkdir(parents=True)
        output = step_dir / stage.notebook.name
        execution = self.project.execution()
        run.put_step(StepRecord(
            stage.name, StepState.RUNNING, executor="runner", pid=os.getpid(),
            started=now_iso(), notebook=output.relative_to(run.path).as_posix(),
            source_notebook=str(stage.notebook),
            parameters={k: plain(v) for k, v in params.items()},
            overrides={k: plain(v) for k, v in overrides.items()},
            fingerprint=key, fingerprint_parts=parts))
        self.reporter.stage_started(stage, run)
        started = time.monotonic()
        injected = {**{k: plain(v) for k, v in overrides.items()},
                    "run_dir": str(run.path), "step": stage.name, "mode": "compute"}
        try:
            papermill.execute_notebook(
                str(stage.notebook), str(output), parameters=injected,
                kernel_name=execution["kernel_name"],
                start_timeout=options.kernel_start_timeout or execution["kernel_start_timeout"],
                execution_timeout=options.cell_timeout or execution["cell_timeout"],
                progress_bar=False, log_output=False, cwd=str(self.project.root),
                kernel_manager_class=kernel_manager_logging_to(step_dir / "kernel.log"),
            )
        except PapermillExecutionError as err:
            self._fail(run, stage, started, output, {
                "cell": err.exec_count, "ename": err.ename, "evalue": err.evalue,
                "source": err.source})
        except KeyboardInterrupt:
            run.update_step(stage.name, state=StepState.INTERRUPTED, ended=now_iso())
            raise
        except Exception as err:  # kernel died, timed out, or could not start
            self._fail(run, stage, started, output, {
                "cell": None, "ename": type(err).__name__, "evalue": str(err).strip()})
        seconds = time.monotonic() - started
        record = run.step(stage.name) or StepRecord(stage.name)
        if not record.completed:
            self._fail(run, stage, started, output, {
                "cell": None, "ename": "IncompleteStage",
                "evalue": "the notebook ended without calling step.finish()"})
        failed = record.failed_gates
        state = StepState.GATE_FAILED if failed else StepState.SUCCEEDED
        run.update_step(stage.name, state=state, ended=now_iso(), duration_s=round(seconds, 3))
        self.reporter.stage_finished(stage, state, seconds)
        if failed:
            gate = next(iter(failed.values()))
            raise GateFailed(stage.name, gate.name, gate.reasons, notebook=str(output),
                             run=run.id)

    def _fail(self, run: Run, stage: Stage, started: float, output: Path,
              error: dict[str, Any]) -> None:
        seconds = time.monotonic() - started
        run.update_step(stage.name, state=StepState.FAILED, ended=now_iso(),
                        duration_s=round(seconds, 3), error=error)
        self.reporter.stage_finished(stage, StepState.FAILED, seconds)
        where = f"cell [{error['cell']}]" if error.get("cell") else "the notebook"
        raise StageFailed(
            f"stage {stage.name} failed in {where}: {error['ename']}: {error['evalue']}",
            stage=stage.name, notebook=str(output), run=run.id)


def _finished_state(run: Run, options: RunOptions) -> RunState:
    """``succeeded``; but a run continued stage by stage (``--resume RUN --only STAGE``, as the
    Kubeflow Pipelines steps do) whose selection still has stages to execute reads ``created``
    (not yet finished) until its last stage ends, so no reader takes it for a finished run."""
    if options.resume and options.only:
        record = run.record()
        if any(not record.done(name) for name in record.selection or []):
            return RunState.CREATED
    return RunState.SUCCEEDED


def _clear(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
