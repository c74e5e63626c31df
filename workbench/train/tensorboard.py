"""TensorBoard for one run or several side by side, on 127.0.0.1.

A run keeps its logs in ``<run>/tensorboard/<step>``; a step reused from the cache has its logs
in the run it came from, which :func:`log_dirs` follows. TensorBoard runs as its own process
(``python -m tensorboard.main``), started by ``workbench tensorboard`` or from a notebook.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from workbench.errors import RunStoreError, WorkbenchError
from workbench.runs.store import Run, RunStore

__all__ = ["TensorBoardServer", "free_port", "log_dirs", "tensorboard_argv"]

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def log_dirs(runs: list[Run], store: RunStore | None = None) -> dict[str, Path]:
    """``{"<run>/<step>": folder}`` for every step of ``runs`` that wrote TensorBoard logs."""
    out: dict[str, Path] = {}
    for run in runs:
        for step, record in run.record().steps.items():
            folder = run.path / "tensorboard" / step
            source = record.cached_from
            if not folder.is_dir() and source and store is not None:
                try:
                    folder = store.open(source).path / "tensorboard" / step
                except WorkbenchError:
                    continue
            if folder.is_dir() and any(folder.rglob("*tfevents*")):
                out[f"{run.id}/{step}"] = folder
    if not out:
        ids = ", ".join(r.id for r in runs)
        raise RunStoreError(f"no TensorBoard logs in run(s) {ids}",
                            hint="run stage 02_train first (workbench run --to 02_train)")
    return out


def tensorboard_argv(dirs: dict[str, Path], *, port: int, host: str = "127.0.0.1") -> list[str]:
    spec = ",".join(f"{name}:{path}" for name, path in dirs.items())
    return [sys.executable, "-m", "tensorboard.main", "--logdir_spec", spec, "--host", host,
            "--port", str(port), "--load_fast", "false", "--reload_interval", "5"]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the child gets SIGTERM when the process that started it dies, however it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class TensorBoardServer:
    """A TensorBoard process serving ``dirs``; :meth:`stop` ends it."""

    def __init__(self, dirs: dict[str, Path], *, port: int | None = None,
                 host: str = "127.0.0.1") -> None:
        self.dirs = dirs
        self.host = host
        self.port = port or free_port(host)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self, *, timeout: float = 60.0, quiet: bool = True) -> TensorBoardServer:
        out = subprocess.DEVNULL if quiet else None
        self.proc = subprocess.Popen(tensorboard_argv(self.dirs, port=self.port, host=self.host),
                                     stdout=out, stderr=out,
                                     preexec_fn=_die_with_parent if sys.platform == "linux"
                                     else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise WorkbenchError(f"TensorBoard exited with status {self.proc.returncode}",
                                     hint=f"is port {self.port} free? try another with --port")
            try:
                with urllib.request.urlopen(self.url + "data/environment", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise WorkbenchError(f"TensorBoard did not answer on {self.url} within {timeout:.0f} s")

    def wait(self) -> int:
        assert self.proc is not None
        return self.proc.wait()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
