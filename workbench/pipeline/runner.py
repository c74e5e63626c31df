"""Execute a pipeline: each stage notebook with papermill into its step folder of a run.

The runner owns a run for as long as it executes it (see :meth:`Run.owned`), injects ``run_dir``,
``step`` and ``mode`` plus the user's parameters, reuses earlier identical executions (cache),
stops at the first failed gate or failed stage, and reports progress through a :class:`Reporter`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import (
    ConfigError,
    GateFailed,
    IntegrityError,
    RunStoreError,
    StageFailed,
    WorkbenchError,
)
from workbench.pipeline.environment import collect_environment, library_digest
from workbench.pipeline.params import effective_parameters, resolve_parameters
from workbench.pipeline.spec import Pipeline, Stage
from workbench.project import Project
from workbench.runs.step import artifact_problem
from workbench.runs.store import DONE_STEP_STATES, Run, RunStore, now_iso

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


def notebook_digest(path: Path) -> str:
    """Hash of what a notebook computes: cell types and sources, not outputs or metadata."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    h = hashlib.sha256()
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        h.update(cell.get("cell_type", "").encode() + b"\0" + source.encode("utf-8") + b"\0")
    return h.hexdigest()


def _file_fingerprints(values: dict[str, Any], root: Path) -> dict[str, Any]:
    """Stat fingerprints of parameters that name existing files (as TFX fingerprints inputs)."""
    out = {}
    for name, value in sorted(values.items()):
        if not isinstance(value, str) or not value or len(value) > 4096:
            continue
        path = Path(value) if os.path.isabs(value) else root / value
        with contextlib.suppress(OSError):
            if path.is_file():
                st = path.stat()
                out[name] = [str(path.resolve()), st.st_size, st.st_mtime_ns]
            elif path.is_dir():
                files = sorted(p for p in path.rglob("*") if p.is_file())
                out[name] = [str(path.resolve()), len(files),
                             sum(p.stat().st_size for p in files),
                             max((p.stat().st_mtime_ns for p in files), default=0)]
    return out


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
                parameters={k: _plain(v) for k, v in {**(options.params_file or {}),
                                                      **options.assignments}.items()},
                pipeline=self.pipeline.names,
                environment=collect_environment(self.project.root),
            )
            run.update(lambda m: m.update(
                selection=[s.name for s in targets],
                overrides={k: _plain(v) for k, v in overrides.items()}))
        started = time.monotonic()
        with run.owned():
            run.update(lambda m: m.update(state="running", ended=None))
            self.reporter.run_started(run, targets, bool(options.resume))
            try:
                for stage in targets:
                    self._stage(run, stage, overrides.get(stage.name, {}), options)
            except GateFailed:
                self._end_run(run, "gate_failed", started)
                raise
            except KeyboardInterrupt:
                self._end_run(run, "interrupted", started)
                raise
            except BaseException:
                self._end_run(run, "failed", started)
                raise
            self._end_run(run, "succeeded", started)
        return run

    # -- internals -----------------------------------------------------------------------------
    def _end_run(self, run: Run, state: str, started: float) -> None:
        seconds = time.monotonic() - started
        run.update(lambda m: m.update(state=state, ended=now_iso(),
                                      duration_s=round(seconds, 3)))
        self.reporter.run_finished(run, state, seconds)

    def _prepare_resume(self, options: RunOptions) -> tuple[Run, list[Stage], dict[str, Any]]:
        if options.assignments or options.params_file or options.start or options.stop \
                or options.only:
            raise ConfigError(
                "--resume continues a run with the stages and parameters it started with",
                hint="drop -p/--params/--from/--to/--only, or start a new run to change them")
        run = self.store.open(options.resume)
        manifest = run.read()
        if run.is_owned():
            raise RunStoreError(f"run {run.id} is still being executed",
                                hint="wait for it, or stop that process first")
        names = manifest.get("selection") or manifest.get("pipeline") or []
        try:
            targets = [self.pipeline.stage(n) for n in names]
        except ConfigError as err:
            raise ConfigError(f"run {run.id} has stages the current pipeline lacks: {err}",
                              hint="restore the stage in workbench.yaml, or start a new run"
                              ) from err
        return run, targets, manifest.get("overrides", {})

    def _stage(self, run: Run, stage: Stage, overrides: dict[str, Any],
               options: RunOptions) -> None:
        record = run.step_record(stage.name) or {}
        if options.resume and record.get("state") in DONE_STEP_STATES:
            self.reporter.stage_skipped(stage, "finished earlier in this run")
            return
        for need in stage.needs:
            self._ensure_need(run, stage, need)
        params = effective_parameters(stage, overrides)
        fingerprint, parts = self._fingerprint(run, stage, params)
        if stage.cache and not options.force:
            source = self._find_cached(stage, fingerprint, run)
            if source is not None:
                self._link_step(source, run, stage.name, state="cached")
                self.reporter.stage_reused(stage, source, "same notebook, parameters and inputs")
                return
        self._execute(run, stage, overrides, params, fingerprint, parts, options)

    def _check_needs_available(self, targets: list[Stage]) -> None:
        """Refuse before a run is created when a stage needs results nobody has."""
        chosen = {s.name for s in targets}
        for stage in targets:
            for need in stage.needs:
                if need in chosen:
                    continue
                if self.store.latest(lambda m, n=need: m.get("steps", {}).get(n, {})
                                     .get("state") in DONE_STEP_STATES) is None:
                    raise ConfigError(
                        f"stage {stage.name} needs the results of {need}, and no run has them",
                        hint=f"run it first: workbench run --to {need}")

    def _ensure_need(self, run: Run, stage: Stage, need: str) -> None:
        """Make sure a stage's input step is in the run and intact (its recorded hashes enter
        the stage's cache key, so a changed file must be caught here, not trusted)."""
        if (run.step_record(need) or {}).get("state") in DONE_STEP_STATES:
            _verify_step(run, need)
            return
        source = self.store.latest(
            lambda m: m.get("steps", {}).get(need, {}).get("state") in DONE_STEP_STATES
            and m["run_id"] != run.id)
        if source is None:
            raise ConfigError(
                f"stage {stage.name} needs the results of {need}, and no run has them",
                hint=f"run it first: workbench run --to {need}")
        _verify_step(source, need)
        self._link_step(source, run, need, state="cached")
        self.reporter.stage_reused(self.pipeline.stage(need), source,
                                   f"input of {stage.name}")

    def _fingerprint(self, run: Run, stage: Stage,
                     params: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """The cache key of a stage execution, and the hash of each part (kept in the step
        record, so a cache miss can be explained: which part changed). Input artifacts are
        not in the key: a candidate is checked against the inputs it actually read
        (:meth:`_find_cached`)."""
        material = {
            "notebook": notebook_digest(stage.notebook),
            "library": library_digest(),
            "parameters": {k: _plain(v) for k, v in sorted(params.items())},
            "files": _file_fingerprints(params, self.project.root),
        }
        if stage.fingerprint_hook:
            material["hook"] = _call_hook(stage.fingerprint_hook, run, stage.name, params)
        parts = {k: _digest(v) for k, v in material.items()}
        return _digest(parts), parts

    def _find_cached(self, stage: Stage, fingerprint: str, run: Run) -> Run | None:
        """The newest earlier execution of ``stage`` with the same key whose recorded inputs
        (every artifact it read, with its hash) equal this run's, and whose own artifacts are
        intact. As TFX: same component, same parameters, same input artifacts."""
        current = _artifact_hashes(run)
        for candidate in reversed(self.store.runs()):
            if candidate.path == run.path:
                continue
            try:
                record = candidate.read().get("steps", {}).get(stage.name, {})
            except WorkbenchError:
                continue
            if record.get("fingerprint") != fingerprint or \
                    record.get("state") not in DONE_STEP_STATES:
                continue
            if any(current.get(ref) != digest
                   for ref, digest in record.get("inputs", {}).items()):
                continue
            if not any(artifact_problem(candidate.path / a["path"], a)
                       for a in record.get("artifacts", {}).values()):
                return candidate
        return None

    def _link_step(self, source: Run, run: Run, step: str, *, state: str) -> None:
        """Bring a finished step of another run into this one (hard links; artifacts are
        immutable, so sharing inodes is safe)."""
        record = dict(source.step_record(step) or {})
        target = run.step_dir(step)
        _clear(target)
        src = source.step_dir(step)
        if src.is_dir():
            tmp = target.with_name(f".{step}.link-tmp")
            _clear(tmp)
            shutil.copytree(src, tmp, copy_function=_link_or_copy,
                            ignore=shutil.ignore_patterns(".*.tmp"))
            os.replace(tmp, target)
        record.update(state=state, cached_from=record.get("cached_from") or source.id,
                      linked=now_iso())
        run.update(lambda m: m.setdefault("steps", {}).__setitem__(step, record))

    def _execute(self, run: Run, stage: Stage, overrides: dict[str, Any],
                 params: dict[str, Any], fingerprint: str, parts: dict[str, str],
                 options: RunOptions) -> None:
        import papermill
        from papermill.exceptions import PapermillExecutionError

        from workbench.pipeline.kernel import kernel_manager_logging_to

        step_dir = run.step_dir(stage.name)
        _clear(step_dir)
        step_dir.mkdir(parents=True)
        output = step_dir / stage.notebook.name
        execution = self.project.execution()
        run.update(lambda m: m.setdefault("steps", {}).__setitem__(stage.name, {
            "state": "running",
            "executor": "runner",
            "pid": os.getpid(),
            "started": now_iso(),
            "notebook": output.relative_to(run.path).as_posix(),
            "source_notebook": str(stage.notebook),
            "parameters": {k: _plain(v) for k, v in params.items()},
            "overrides": {k: _plain(v) for k, v in overrides.items()},
            "fingerprint": fingerprint,
            "fingerprint_parts": parts,
        }))
        self.reporter.stage_started(stage, run)
        started = time.monotonic()
        injected = {**{k: _plain(v) for k, v in overrides.items()},
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
            run.update_step(stage.name, state="interrupted", ended=now_iso())
            raise
        except Exception as err:  # kernel died, timed out, or could not start
            self._fail(run, stage, started, output, {
                "cell": None, "ename": type(err).__name__, "evalue": str(err).strip()})
        seconds = time.monotonic() - started
        record = run.step_record(stage.name) or {}
        if not record.get("completed"):
            self._fail(run, stage, started, output, {
                "cell": None, "ename": "IncompleteStage",
                "evalue": "the notebook ended without calling step.finish()"})
        failed = {g: r for g, r in record.get("gates", {}).items() if not r.get("passed")}
        state = "gate_failed" if failed else "succeeded"
        run.update_step(stage.name, state=state, ended=now_iso(), duration_s=round(seconds, 3))
        self.reporter.stage_finished(stage, state, seconds)
        if failed:
            gate, result = next(iter(failed.items()))
            raise GateFailed(stage.name, gate, result.get("reasons", []),
                             notebook=str(output), run=run.id)

    def _fail(self, run: Run, stage: Stage, started: float, output: Path,
              error: dict[str, Any]) -> None:
        seconds = time.monotonic() - started
        run.update_step(stage.name, state="failed", ended=now_iso(),
                        duration_s=round(seconds, 3), error=error)
        self.reporter.stage_finished(stage, "failed", seconds)
        where = f"cell [{error['cell']}]" if error.get("cell") else "the notebook"
        raise StageFailed(
            f"stage {stage.name} failed in {where}: {error['ename']}: {error['evalue']}",
            stage=stage.name, notebook=str(output), run=run.id)


def _call_hook(ref: str, run: Run, stage: str, params: dict[str, Any]) -> Any:
    import importlib

    module_name, _, func_name = ref.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"fingerprint hook '{ref}' of stage {stage} cannot be imported: {err}",
                          hint="give module:function of an importable function") from err
    return func(run, stage, params)


def _digest(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    """Unwrap command-line values (which remember their text) into plain data."""
    if hasattr(value, "value") and hasattr(value, "text"):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _artifact_hashes(run: Run) -> dict[str, str]:
    """``{"step/name": sha256}`` of every artifact in the run."""
    return {f"{step}/{name}": art["sha256"]
            for step, record in run.read().get("steps", {}).items()
            for name, art in record.get("artifacts", {}).items()}


def _verify_step(run: Run, step: str) -> None:
    """Every artifact of ``step`` still has its recorded hash; else an IntegrityError naming
    the files."""
    changed = []
    for art in (run.step_record(step) or {}).get("artifacts", {}).values():
        problem = artifact_problem(run.path / art["path"], art)
        if problem:
            changed.append(f"{art['path']} ({problem})")
    if changed:
        raise IntegrityError(
            f"artifacts of step {step} in run {run.id} changed after they were written: "
            f"{', '.join(changed)}",
            hint=f"re-run the step (workbench run --from {step} --force); never edit run "
            "artifacts by hand", run=run.id, step=step)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _clear(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
