"""A step's handle on its run: the one artifact layer stages read and write through.

A stage notebook opens its step with :func:`open_step` (from its ``parameters``), then saves and
loads named artifacts, logs metrics and records gates. The step knows paths, hashes and atomic
writes; stage code only deals in objects.

Modes:

* ``compute`` — the notebook runs the stage: under ``workbench run`` (headless) or in JupyterLab
  (interactive; without a ``run_dir`` it attaches to the latest run, or starts one).
* ``view`` — a Voila app shows a finished step: reads only; any write is refused.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import ArtifactError, IntegrityError, RunStoreError, WorkbenchError
from workbench.runs.artifacts import get_kind, guess_kind
from workbench.runs.atomic import default_mode, hash_path, tree_digest, tree_hashes
from workbench.runs.record import ArtifactRecord, Gate, RunRecord, StepRecord, StepState
from workbench.runs.store import Run, RunStore, now_iso
from workbench.runs.verify import check_artifact, settled_identities

__all__ = ["MODES", "Artifact", "Step", "open_step", "verify_step"]

log = logging.getLogger(__name__)

MODES = ("compute", "view")


@dataclass(frozen=True)
class Artifact:
    """A registered artifact whose content has been checked against its recorded hash."""

    step: str
    name: str
    path: Path
    kind: str
    sha256: str
    meta: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.step}/{self.name}"


def _short(step: str) -> str:
    """``01_data_validation`` → ``data_validation``."""
    head, _, tail = step.partition("_")
    return tail if head.isdigit() and tail else step


class Step:
    """One step of one run, in ``compute`` or ``view`` mode."""

    def __init__(self, run: Run, name: str, mode: str = "compute", *, headless: bool = False):
        if mode not in MODES:
            raise WorkbenchError(f"unknown mode '{mode}'", hint=f"use one of: {', '.join(MODES)}")
        self.run = run
        self.name = name
        self.mode = mode
        self.headless = headless
        self._started = time.monotonic()
        self._last: Artifact | None = None

    def __repr__(self) -> str:
        return f"Step({self.run.id}/{self.name}, mode={self.mode})"

    def _repr_html_(self) -> str:
        how = ("headless" if self.headless else "interactive") if self.computing else "read-only"
        return (f"<div class='wb-step'><b>{self.name}</b> · run <code>{self.run.id}</code> · "
                f"{self.mode} ({how})</div>")

    @property
    def computing(self) -> bool:
        return self.mode == "compute"

    @property
    def dir(self) -> Path:
        return self.run.step_dir(self.name)

    @property
    def store(self) -> RunStore:
        """The run store this step's run belongs to (to find baselines in other runs)."""
        return RunStore(self.run.path.parent)

    @property
    def tensorboard_dir(self) -> Path:
        """``<run>/tensorboard/<step>``: where this step writes TensorBoard logs."""
        path = self.run.path / "tensorboard" / self.name
        if self.computing:
            path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def record(self) -> StepRecord:
        """This step's record in the run (an empty one before the step wrote anything)."""
        return self.run.step(self.name) or StepRecord(self.name)

    @property
    def gates(self) -> dict[str, Gate]:
        return self.record.gates

    def _check_writable(self, what: str) -> None:
        if not self.computing:
            raise WorkbenchError(
                f"cannot {what} in view mode: step {self.name} of run {self.run.id} is read-only",
                hint="open the notebook with mode='compute' to recompute this step",
            )

    # -- writing -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self, name: str, *, kind: str = "file", suffix: str | None = None,
                **meta: Any) -> Iterator[Path]:
        """Yield a temporary path to write artifact ``name`` to; it is registered on success.

        For ``kind="dir"`` the path is an empty directory; otherwise a file path. The artifact
        appears under its final name only once complete and hashed.
        """
        self._check_writable(f"write artifact '{name}'")
        spec = get_kind(kind)
        self.dir.mkdir(parents=True, exist_ok=True)
        final = self.dir / (name + (spec.suffix if suffix is None else suffix))
        if spec.is_dir:
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=self.dir))
        else:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=self.dir)
            os.close(fd)
            tmp = Path(tmp_name)
        default_mode(tmp, is_dir=spec.is_dir)
        try:
            yield tmp
            files = tree_hashes(tmp) if spec.is_dir else None
            digest = tree_digest(files) if files is not None else hash_path(tmp)
            _replace(tmp, final)
        except BaseException:
            _remove(tmp)
            raise
        self._register(name, final, kind, digest, meta, files)

    def save(self, name: str, obj: Any, *, kind: str | None = None, **meta: Any) -> Artifact:
        """Store ``obj`` as artifact ``name`` of this step, atomically, and register it."""
        kind = kind or guess_kind(obj)
        with self.writing(name, kind=kind, **meta) as tmp:
            get_kind(kind).save(obj, tmp)
        return self._last

    def _register(self, name: str, path: Path, kind: str, digest: str,
                  meta: dict[str, Any], files: dict[str, str] | None = None) -> Artifact:
        size = (sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
                if path.is_dir() else path.stat().st_size)
        # files per-file hashes name the file when a directory changes; seen: the content was
        # just hashed at these identities, so later checks need not hash it again
        record = ArtifactRecord(name, path.relative_to(self.run.path).as_posix(), kind, digest,
                                bytes=size, created=now_iso(), meta=meta, files=files,
                                seen=settled_identities(path))
        self.run.edit(lambda r: r.step_or_new(self.name).artifacts.__setitem__(name, record))
        self._last = Artifact(self.name, name, path, kind, digest, meta)
        return self._last

    def log_metrics(self, metrics: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
        """Merge metrics into the step's record (numbers, strings or small dicts)."""
        self._check_writable("log metrics")
        values = {**(metrics or {}), **more}
        record = self.run.edit(lambda r: r.step_or_new(self.name).metrics.update(values))
        return record.steps[self.name].metrics

    def gate(self, name: str, passed: bool, reasons: list[str] | None = None,
             **details: Any) -> Gate:
        """Record the result of gate ``name``. A failed gate stops ``workbench run`` after this
        stage; the notebook itself runs on, so its views show why."""
        self._check_writable("record a gate")
        result = Gate(name, bool(passed), list(reasons or []), now_iso(), details)
        self.run.edit(lambda r: r.step_or_new(self.name).gates.__setitem__(name, result))
        return result

    def finish(self) -> StepRecord:
        """Mark the notebook as having reached its end. Interactive steps also get their final
        state here; headless steps get it from the runner. In view mode nothing changes."""
        if not self.computing:
            return self.record
        seconds = round(time.monotonic() - self._started, 3)

        def change(r: RunRecord) -> None:
            step = r.step_or_new(self.name)
            step.completed = now_iso()
            if not self.headless:
                step.state = StepState.GATE_FAILED if step.failed_gates else StepState.SUCCEEDED
                step.ended, step.duration_s = now_iso(), seconds

        return self.run.edit(change).steps[self.name]

    # -- reading -------------------------------------------------------------------------------
    def _resolve(self, ref: str, record: RunRecord) -> tuple[str, str]:
        steps = record.steps
        if "/" in ref:
            step_ref, name = ref.split("/", 1)
            for step in steps:
                if step_ref in (step, _short(step)):
                    return step, name
            raise ArtifactError(
                f"run {self.run.id} has no step '{step_ref}'",
                hint=f"steps in this run: {', '.join(steps) or 'none'}",
            )
        own = steps.get(self.name)
        if own is not None and ref in own.artifacts:
            return self.name, ref
        owners = [s for s, r in steps.items() if ref in r.artifacts]
        if len(owners) == 1:
            return owners[0], ref
        if owners:
            raise ArtifactError(f"artifact '{ref}' exists in several steps: {', '.join(owners)}",
                                hint=f"name the step, e.g. '{owners[-1]}/{ref}'")
        return self.name, ref

    def artifact(self, ref: str, *, record_input: bool = True, full: bool = False) -> Artifact:
        """The artifact named ``ref`` (``name`` or ``step/name``), after checking its hash (once
        per content: see :mod:`workbench.runs.verify`; ``full`` hashes it regardless)."""
        manifest = self.run.record()
        step, name = self._resolve(ref, manifest)
        owner = manifest.step(step)
        record = owner.artifacts.get(name) if owner else None
        if record is None:
            have = sorted(owner.artifacts) if owner else []
            raise ArtifactError(
                f"step {step} of run {self.run.id} has no artifact '{name}'",
                hint=(f"its artifacts: {', '.join(have)}" if have else
                      f"run step {step} first (workbench run --to {step})"),
                run=self.run.id, step=step,
            )
        path = record.location(self.run.path)
        if not path.exists():
            raise ArtifactError(f"artifact {step}/{name} is registered but {path} is missing",
                                hint=f"re-run step {step}", path=str(path))
        verdict = check_artifact(self.run.path, record, full=full)
        if verdict.problem:
            raise IntegrityError(
                f"artifact {step}/{name} at {path} has changed since it was written "
                f"({verdict.problem})",
                hint=f"re-run step {step} to regenerate it; do not edit run artifacts by hand",
                path=str(path),
            )
        as_input = (record_input and self.computing and step != self.name
                    and manifest.step_or_new(self.name).inputs.get(f"{step}/{name}")
                    != record.sha256)
        # a view (an app page) never writes to the run; it still hashes at most once per
        # process (the file_digest memo)
        seen = verdict.seen if self.computing else None
        if seen is not None or as_input:
            self.run.edit(lambda r: _note_read(r, self.name if as_input else None, step, name,
                                               record.sha256, seen))
        return Artifact(step, name, path, record.kind, record.sha256, record.meta)

    def path(self, ref: str) -> Path:
        """Checked path of an artifact (for files other libraries open themselves)."""
        return self.artifact(ref).path

    def load(self, ref: str, *, message: Any = None) -> Any:
        """Load an artifact as an object. Protocol buffers need their ``message`` class."""
        art = self.artifact(ref)
        if art.kind in ("proto", "pbtxt"):
            if message is None:
                raise ArtifactError(f"artifact {art.ref} is a protocol buffer",
                                    hint="pass message=<its message class>")
            msg = message()
            if art.kind == "proto":
                msg.ParseFromString(art.path.read_bytes())
            else:
                from google.protobuf import text_format

                text_format.Parse(art.path.read_text(encoding="utf-8"), msg)
            return msg
        return get_kind(art.kind).load(art.path)

    def has(self, ref: str) -> bool:
        manifest = self.run.record()
        try:
            step, name = self._resolve(ref, manifest)
        except ArtifactError:
            return False
        return manifest.artifact(step, name) is not None


def _note_read(record: RunRecord, reader: str | None, step: str, name: str, digest: str,
               seen: dict[str, list[int]] | None) -> None:
    """Record, in one manifest write, that ``reader`` read an artifact (its cache inputs) and
    the identities at which the artifact was just found intact."""
    if reader is not None:
        record.step_or_new(reader).inputs[f"{step}/{name}"] = digest
    art = record.artifact(step, name)
    if seen is not None and art is not None and art.sha256 == digest:
        art.seen = seen


def verify_step(run: Run, step: str, *, full: bool = False) -> None:
    """Every artifact of ``step`` still has its recorded hash (checked once per content, see
    :mod:`workbench.runs.verify`); else an IntegrityError naming the files."""
    record = run.step(step)
    changed, seen = [], {}
    for art in (record.artifacts.values() if record else ()):
        verdict = check_artifact(run.path, art, full=full)
        if verdict.problem:
            changed.append(f"{art.path} ({verdict.problem})")
        elif verdict.seen is not None:
            seen[art.name] = (art.sha256, verdict.seen)
    if seen:
        try:
            run.edit(lambda r: [_note_read(r, None, step, n, d, ids)
                                for n, (d, ids) in seen.items()])
        except (OSError, WorkbenchError) as err:  # a read-only run folder: nothing to remember
            log.info("verification of %s/%s not recorded: %s", run.id, step, err)
    if changed:
        raise IntegrityError(
            f"artifacts of step {step} in run {run.id} changed after they were written: "
            f"{', '.join(changed)}",
            hint=f"re-run the step (workbench run --from {step} --force); never edit run "
            "artifacts by hand", run=run.id, step=step)


def _replace(tmp: Path, final: Path) -> None:
    if tmp.is_dir() and final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        _remove(old)
        os.replace(final, old)
        os.replace(tmp, final)
        _remove(old)
    else:
        if final.is_dir():
            _remove(final)
        os.replace(tmp, final)


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def open_step(step: Any, run_dir: str = "", mode: str = "compute", *,
              store: RunStore | None = None) -> Step:
    """Open a step for a stage notebook, from the notebook's parameters: a stage's declared
    parameters (:class:`workbench.params.StageParams`; their ``step``, ``run_dir`` and
    ``mode``), or those three as strings.

    ``run_dir`` empty means: in compute mode, the latest run not being executed right now (or a
    new interactive run when there is none); in view mode, the latest run where this step
    finished (its gate passed or not).
    """
    from workbench.project import Project

    if not isinstance(step, str):
        step, run_dir, mode = step.step, step.run_dir, step.mode
    if mode not in MODES:
        raise WorkbenchError(f"unknown mode '{mode}'", hint=f"use one of: {', '.join(MODES)}")
    if run_dir:
        run = Run(run_dir)
    else:
        store = store or Project.find().store()
        if mode == "view":
            finished = (StepState.SUCCEEDED, StepState.CACHED, StepState.GATE_FAILED)
            run = store.latest(lambda r: (r.step(step) or StepRecord(step)).state in finished)
            if run is None:
                raise RunStoreError(f"no run in {store.root} has finished step {step} yet",
                                    hint="run the pipeline first: workbench run")
        else:
            run = next((r for r in reversed(store.runs()) if not r.is_owned()), None)
            if run is None:
                run = store.create(state="interactive")
    if mode == "view":
        return Step(run, step, "view")
    record = run.step(step)
    headless = record is not None and record.state == StepState.RUNNING \
        and record.executor == "runner" and run.is_owned()
    if not headless:
        run.update_step(step, state=StepState.RUNNING, executor="interactive", pid=os.getpid(),
                        host=socket.gethostname(), started=now_iso(), completed=None,
                        gates={})
    return Step(run, step, "compute", headless=headless)
