"""The local model server as a managed background process of a repository.

``start`` launches ``python -m workbench.serving.server`` on the repository's config files,
detached, with its log in ``<repository>/server.log`` and its pid, ports and options in
``<repository>/server.json``; it returns once the server listens with its models loaded.
``stop`` ends it (SIGTERM, then SIGKILL); ``running`` finds it again from the pid file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.runs.atomic import atomic_write_json, atomic_write_text
from workbench.serving.client import GrpcClient, RestClient
from workbench.serving.repository import Repository

__all__ = ["ServerHandle", "running", "start_local", "stop"]

log = logging.getLogger(__name__)

PID_FILE = "server.json"
LOG_FILE = "server.log"
READY_FILE = ".server-ready.json"
TOKEN_FILE = "server.token"


@dataclass
class ServerHandle:
    pid: int
    host: str
    rest_port: int
    grpc_port: int
    repository: str
    log: str
    target: str = "local"
    token_file: str = ""
    started: float = 0.0

    @property
    def token(self) -> str | None:
        if not self.token_file:
            return None
        return Path(self.token_file).read_text(encoding="utf-8").strip()

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.rest_port}"

    def rest(self, timeout: float = 30.0) -> RestClient:
        return RestClient(self.host, self.rest_port, token=self.token, timeout=timeout)

    def grpc(self, timeout: float = 30.0) -> GrpcClient:
        return GrpcClient(f"{self.host}:{self.grpc_port}", token=self.token, timeout=timeout)

    def alive(self) -> bool:
        return _is_server(self.pid)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_server(pid: int) -> bool:
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return "workbench.serving.server" in " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def running(repo: Repository) -> ServerHandle | None:
    """The live server of this repository, or None (a stale pid file is removed)."""
    path = repo.root / PID_FILE
    if not path.is_file():
        return None
    try:
        handle = ServerHandle(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError):
        path.unlink(missing_ok=True)
        return None
    if not handle.alive():
        path.unlink(missing_ok=True)
        return None
    return handle


def start_local(repo: Repository, *, rest_port: int = 8501, grpc_port: int = 8500,
                host: str = "127.0.0.1", batching: bool = True, poll_seconds: float = 1.0,
                config_poll_seconds: float = 1.0, token: str | None = None,
                verify: bool = True, public_key_path: str = "", insecure: bool = False,
                allow_non_finite: bool = False, timeout: float = 180.0) -> ServerHandle:
    """Start the local server on ``repo`` in the background (or return the one running).

    ``token`` (default: the ``WORKBENCH_SERVING_TOKEN`` environment variable; ``"auto"``
    generates one) is required for a non-loopback ``host`` unless ``insecure``."""
    from workbench.serving.server import TOKEN_ENV, check_exposure

    token = token or os.environ.get(TOKEN_ENV, "").strip() or None
    warning = check_exposure(host, token, insecure)
    if warning:
        log.warning("%s", warning)
    existing = running(repo)
    if existing is not None:
        log.info("model server already running (pid %d)", existing.pid)
        return existing
    repo.init()
    ready = repo.root / READY_FILE
    ready.unlink(missing_ok=True)
    token_file = ""
    if token:
        token_path = repo.root / TOKEN_FILE
        atomic_write_text(token_path, (secrets.token_urlsafe(24) if token == "auto"
                                       else token) + "\n")
        os.chmod(token_path, 0o600)
        token_file = str(token_path)
    argv = [sys.executable, "-m", "workbench.serving.server",
            f"--host={host}", f"--port={grpc_port}", f"--rest_api_port={rest_port}",
            f"--model_config_file={repo.config_path}",
            f"--model_config_file_poll_wait_seconds={config_poll_seconds}",
            f"--file_system_poll_wait_seconds={poll_seconds}",
            f"--monitoring_config_file={repo.monitoring_path}",
            f"--verify={'true' if verify else 'false'}",
            f"--ready_file={ready}"]
    if batching:
        argv += ["--enable_batching=true", f"--batching_parameters_file={repo.batching_path}"]
    if public_key_path:
        argv.append(f"--verify_public_key={public_key_path}")
    if token_file:
        argv.append(f"--auth_token_file={token_file}")
    if insecure:
        argv.append("--insecure=true")
    if allow_non_finite:
        argv.append("--allow_non_finite=true")
    log_path = repo.root / LOG_FILE
    with open(log_path, "ab") as fh:
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=repo.root,
                                start_new_session=True)
    deadline = time.monotonic() + timeout
    while not ready.is_file():
        if proc.poll() is not None:
            raise WorkbenchError(f"the model server exited with code {proc.returncode} while "
                                 f"starting:\n{_tail(log_path)}",
                                 hint=f"fix the problem named above; full log: {log_path}")
        if time.monotonic() > deadline:
            _terminate(proc.pid)
            raise WorkbenchError(f"the model server did not start within {timeout:g} s",
                                 hint=f"see {log_path}")
        time.sleep(0.05)
    info = json.loads(ready.read_text(encoding="utf-8"))
    handle = ServerHandle(pid=proc.pid, host=host, rest_port=info["rest_port"],
                          grpc_port=info["grpc_port"], repository=str(repo.root),
                          log=str(log_path), token_file=token_file, started=time.time())
    atomic_write_json(repo.root / PID_FILE, handle.to_dict())
    log.info("model server pid %d: REST %s, gRPC %s:%d", proc.pid, handle.rest_url, host,
             handle.grpc_port)
    return handle


def stop(repo: Repository, *, timeout: float = 15.0) -> ServerHandle | None:
    """Stop the repository's server; returns its handle, or None when none was running."""
    handle = running(repo)
    if handle is None:
        return None
    _terminate(handle.pid, timeout)
    (repo.root / PID_FILE).unlink(missing_ok=True)
    (repo.root / READY_FILE).unlink(missing_ok=True)
    return handle


def _terminate(pid: int, timeout: float = 15.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_server(pid):
            _reap(pid)
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
