"""The run store: ``runs/<run-id>/`` folders with an atomically written ``run.json`` manifest.

Layout of one run::

    runs/20261122-220501-3fa2/
      run.json              manifest: parameters, environment, steps, gates, metrics, artifacts
      .manifest.lock        short lock around every read-modify-write of run.json
      .owner.lock           held by the process executing the run for as long as it runs
      01_data_validation/   one folder per step: executed notebook and its artifacts
      tensorboard/          TensorBoard logs

Writers never leave a half-written manifest: every change is a locked read-modify-write that
lands by rename. A process that died while the run was ``running`` no longer holds the owner lock,
so readers report the run (and its running step) as ``interrupted``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
from filelock import FileLock, Timeout

from workbench.errors import NotARunError, RunLockedError, RunStoreError
from workbench.runs.atomic import atomic_write_json
from workbench.runs.record import (
    DONE_STEP_STATES,
    SCHEMA_VERSION,
    RunRecord,
    RunState,
    StepRecord,
    StepState,
)

__all__ = [
    "DONE_STEP_STATES",
    "MANIFEST",
    "RUN_STATES",
    "STEP_STATES",
    "Run",
    "RunStore",
    "now_iso",
]

MANIFEST = "run.json"
RUN_STATES = tuple(RunState)
STEP_STATES = tuple(StepState)
_MANIFEST_LOCK = ".manifest.lock"
_OWNER_LOCK = ".owner.lock"
_LOCK_TIMEOUT_S = 30.0
#: a manifest rewritten this recently is parsed again on every read (its stat could repeat)
_FRESH_NS = 50_000_000


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


def _new_run_id() -> str:
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


def _alive(pid: Any, host: Any) -> bool:
    """Whether a process that recorded itself is still there (unknowable on another host)."""
    if host and host != socket.gethostname():
        return True
    return isinstance(pid, int) and psutil.pid_exists(pid)


class Run:
    """One run folder. Reads are fresh from disk (parsed again only when ``run.json`` changed);
    writes are locked read-modify-writes through :meth:`edit`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).resolve()
        manifest = self.path / MANIFEST
        if not manifest.is_file():
            raise NotARunError(
                f"{self.path} is not a run: it has no {MANIFEST}",
                hint="pass a run id or folder listed by `workbench runs list`",
                path=str(self.path),
            )
        self._owner_fd: int | None = None
        self._cache: tuple[tuple[int, ...], dict[str, Any]] | None = None

    def __repr__(self) -> str:
        return f"Run({self.id!r})"

    @property
    def id(self) -> str:
        return self.path.name

    # -- reading -------------------------------------------------------------------------------
    def record(self) -> RunRecord:
        """The manifest, typed, with ``interrupted`` derived for a dead owner."""
        record = RunRecord.from_dict(self._cached_raw())
        run_dead = record.state == RunState.RUNNING and not self.is_owned()
        if run_dead:
            record.state = RunState.INTERRUPTED
        for step in record.steps.values():
            if step.state != StepState.RUNNING:
                continue
            if run_dead or (step.executor == "interactive" and not _alive(step.pid, step.host)):
                step.state = StepState.INTERRUPTED
        return record

    def read(self) -> dict[str, Any]:
        """The manifest as JSON data (for ``workbench runs show --json`` and tests); code reads
        :meth:`record`."""
        return self.record().to_dict()

    def step(self, name: str) -> StepRecord | None:
        """The record of step ``name``, or None when the run has no such step."""
        return self.record().step(name)

    def _cached_raw(self) -> dict[str, Any]:
        """The stored JSON, parsed again only when the file's stat changed (and always while
        it is fresher than the timestamp tick). Shared: never mutate it."""
        path = self.path / MANIFEST
        try:
            st = path.stat()
        except FileNotFoundError:
            return self._read_raw()
        key = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        manifest = self._read_raw()
        if st.st_ctime_ns < time.time_ns() - _FRESH_NS:
            self._cache = (key, manifest)
        return manifest

    def _read_raw(self) -> dict[str, Any]:
        path = self.path / MANIFEST
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise RunStoreError(
                f"{path} is not valid JSON ({err}); the run's manifest is damaged",
                hint="manifests are written atomically by the workbench; restore the file from a "
                "backup or delete the run folder",
                path=str(path),
            ) from err
        if not isinstance(manifest, dict) or manifest.get("schema_version") != SCHEMA_VERSION:
            raise RunStoreError(
                f"{path} is not a workbench manifest of schema version {SCHEMA_VERSION}",
                hint="runs written by another tool or version cannot be read here",
                path=str(path),
            )
        return manifest

    # -- writing -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _manifest_lock(self) -> Iterator[None]:
        lock = FileLock(str(self.path / _MANIFEST_LOCK))
        try:
            with lock.acquire(timeout=_LOCK_TIMEOUT_S):
                yield
        except Timeout as err:
            raise RunLockedError(
                f"could not lock the manifest of run {self.id} within {_LOCK_TIMEOUT_S:.0f} s",
                hint=f"another process is stuck writing it; check for it or remove "
                f"{self.path / _MANIFEST_LOCK} if none runs",
            ) from err

    def update(self, change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
        """Locked read-modify-write of the stored JSON; ``change`` edits the dict in place.
        The low level under :meth:`edit`, which code uses."""
        with self._manifest_lock():
            manifest = self._read_raw()
            change(manifest)
            manifest["updated"] = now_iso()
            atomic_write_json(self.path / MANIFEST, manifest)
            self._cache = None
            return manifest

    def edit(self, change: Callable[[RunRecord], Any]) -> RunRecord:
        """Locked read-modify-write of the typed record; ``change`` edits it in place."""
        result: list[RunRecord] = []

        def apply(manifest: dict[str, Any]) -> None:
            record = RunRecord.from_dict(manifest)
            change(record)
            manifest.clear()
            manifest.update(record.to_dict())
            result.append(record)

        self.update(apply)
        return result[0]

    def set(self, **fields: Any) -> RunRecord:
        """Set top-level fields of the record (state, ended, duration_s, selection …)."""
        return self.edit(lambda r: _assign(r, fields))

    @property
    def state(self) -> RunState:
        return self.record().state

    # -- ownership -----------------------------------------------------------------------------
    def is_owned(self) -> bool:
        """True when a live process holds the run's owner lock."""
        if self._owner_fd is not None:
            return True
        try:
            fd = os.open(self.path / _OWNER_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def owned(self) -> Iterator[Run]:
        """Hold the owner lock for the block: one executing process per run.

        The lock is an ``flock`` the kernel drops when the process dies, however it dies, which is
        how readers tell a live run from an interrupted one.
        """
        fd = os.open(self.path / _OWNER_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        os.set_inheritable(fd, False)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            owner = self.record().owner or {}
            raise RunLockedError(
                f"run {self.id} is being executed by pid {owner.get('pid', '?')} on "
                f"{owner.get('host', '?')} since {owner.get('since', '?')}",
                hint="wait for it to finish, or stop that process first",
                run=self.id,
            ) from None
        self._owner_fd = fd
        try:
            self.set(owner={"pid": os.getpid(), "host": socket.gethostname(),
                            "since": now_iso()})
            yield self
        finally:
            self._owner_fd = None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # -- steps ---------------------------------------------------------------------------------
    def step_dir(self, step: str) -> Path:
        return self.path / step

    def update_step(self, step: str, **fields: Any) -> StepRecord:
        """Set fields of the step's record (creating it, ``pending``, when new)."""
        record = self.edit(lambda r: _assign(r.step_or_new(step, StepState.PENDING), fields))
        return record.steps[step]

    def put_step(self, record: StepRecord) -> None:
        """Replace the step's whole record."""
        self.edit(lambda r: r.steps.__setitem__(record.name, record))


def _assign(record: Any, fields: dict[str, Any]) -> None:
    """Set dataclass fields of a record; a name it has no field for is kept in ``extra``."""
    for name, value in fields.items():
        if name != "extra" and hasattr(record, name):
            setattr(record, name, value)
        else:
            record.extra[name] = value


class RunStore:
    """All runs under one folder (``runs/`` of the project by default)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    def create(
        self,
        *,
        parameters: dict[str, Any] | None = None,
        pipeline: list[str] | None = None,
        state: str = "created",
        environment: dict[str, Any] | None = None,
        run_id: str | None = None,
    ) -> Run:
        if state not in RUN_STATES:
            raise ValueError(f"unknown run state {state!r}")
        self.root.mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            rid = run_id or _new_run_id()
            path = self.root / rid
            try:
                path.mkdir()
                break
            except FileExistsError:
                if run_id:
                    raise RunStoreError(f"run {run_id} already exists in {self.root}") from None
        else:  # pragma: no cover - 100 collisions of a random suffix in one second
            raise RunStoreError("could not allocate a run id")
        record = RunRecord(rid, created=now_iso(), updated=now_iso(), state=RunState(state),
                           pipeline=list(pipeline or []), parameters=dict(parameters or {}),
                           environment=dict(environment or {}))
        atomic_write_json(path / MANIFEST, record.to_dict())
        return Run(path)

    def open(self, ref: str | os.PathLike[str]) -> Run:
        """A run by id, by unique id prefix, or by path."""
        text = os.fspath(ref)
        as_path = Path(text)
        if as_path.is_dir() and (as_path / MANIFEST).exists():
            return Run(as_path)
        if (self.root / text / MANIFEST).exists():
            return Run(self.root / text)
        matches = [p for p in self._run_dirs() if p.name.startswith(text)] if text else []
        if len(matches) == 1:
            return Run(matches[0])
        known = ", ".join(p.name for p in self._run_dirs()[-5:]) or "none yet"
        if len(matches) > 1:
            raise NotARunError(
                f"'{text}' matches {len(matches)} runs in {self.root}",
                hint="give more characters of the run id",
            )
        if as_path.is_dir():
            raise NotARunError(
                f"{as_path} is not a run: it has no {MANIFEST}",
                hint=f"pass a run id or folder; latest runs in {self.root}: {known}",
            )
        raise NotARunError(
            f"no run '{text}' in {self.root}",
            hint=f"latest runs: {known} (see `workbench runs list`)",
        )

    def _run_dirs(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if (p / MANIFEST).is_file())

    def runs(self) -> list[Run]:
        """Every readable run, oldest first (by creation time, to the millisecond)."""
        keyed = []
        for path in self._run_dirs():
            with contextlib.suppress(RunStoreError):
                run = Run(path)
                keyed.append((run._cached_raw().get("created", ""), run.id, run))
        return [run for _, _, run in sorted(keyed, key=lambda k: (k[0], k[1]))]

    def newest_first(self, *, exclude: Run | None = None) -> Iterator[tuple[Run, RunRecord]]:
        """Every readable run with its record, newest first (``exclude``: leave that one out)."""
        for run in reversed(self.runs()):
            if exclude is not None and run.path == exclude.path:
                continue
            try:
                yield run, run.record()
            except RunStoreError:
                continue

    def latest(self, where: Callable[[RunRecord], bool] | None = None, *,
               exclude: Run | None = None) -> Run | None:
        """The newest run whose record satisfies ``where`` (any run when None)."""
        return next((run for run, record in self.newest_first(exclude=exclude)
                     if where is None or where(record)), None)

    def latest_with(self, step: str, *, exclude: Run | None = None) -> Run | None:
        """The newest run in which ``step`` finished with its artifacts (succeeded or cached)."""
        return self.latest(lambda r: r.done(step), exclude=exclude)
