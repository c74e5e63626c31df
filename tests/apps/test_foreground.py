"""`workbench app` / `workbench apps` stop their Voila server when they are stopped: by Ctrl-C,
and by SIGTERM or SIGHUP (a service manager, a closed terminal), which used to leave Voila and
its kernels running without a parent."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import WORKBENCH


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _until(what: str, check, timeout: float = 60) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_stopping_workbench_app_stops_its_voila(project: Path, sig: signal.Signals) -> None:
    port = _free_port()
    proc = subprocess.Popen([str(WORKBENCH), "app", "runs", "--port", str(port)], cwd=project,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "WORKBENCH_HOME": str(project)})
    try:
        _until("Voila listens", lambda: _listening(port))
        proc.send_signal(sig)
        proc.wait(timeout=30)
        _until("Voila stopped listening", lambda: not _listening(port), timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
