"""A `workbench apps` site for browser tests: one Voila server with preheated kernels on a
free port, ready once every app's kernel has run up to its query (so timings measure preheated
pages). Each app's kernel logs ``workbench-site: <app> preheated`` then
(:func:`workbench.widgets.site_pages.preheated`); Voila's own "pool is filled" comes when
the kernel starts, before the notebook ran."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

from workbench.apps.site import APPS, site_command
from workbench.project import Project


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project_with_run(source_root: Path, run_id: str, root: Path) -> Path:
    """A new project folder ``root`` holding a copy of one run of ``source_root`` (its owner
    lock left behind), for a test that adds runs or files of its own."""
    import shutil

    root.mkdir()
    (root / "workbench.yaml").write_text("runs_dir: runs\n")
    shutil.copytree(source_root / "runs" / run_id, root / "runs" / run_id,
                    ignore=shutil.ignore_patterns("*.lock"))
    return root


def wait_listening(proc: subprocess.Popen, port: int, log: Path, what: str,
                   timeout: float) -> None:
    """Until ``proc`` accepts connections on ``port``; its log's tail if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n"
                               + log.read_text(errors="replace")[-3000:])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{what} did not listen on {port} within {timeout} s")


class Site:
    def __init__(self, project: Path, log: Path, *, token: str | None = None,
                 pool_size: int = 1) -> None:
        self.port = free_port()
        cmd = site_command(port=self.port, project=Project.load(project), token=token,
                           pool_size=pool_size)
        self.base = f"http://127.0.0.1:{self.port}/"
        self.token = cmd.token
        self.log = log
        self._fh = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd.argv, env=cmd.env, cwd=project, stdout=self._fh,
                                     stderr=subprocess.STDOUT)

    def url(self, app: str, **query: str) -> str:
        notebook = next((a.notebook for a in APPS if a.name == app), f"{app}.ipynb")
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return f"{self.base}voila/render/{notebook}" + (f"?{q}" if q else "")

    def wait_ready(self, timeout: float = 240) -> None:
        """Until every app's preheated kernel has run up to its query."""
        wanted = {Path(a.notebook).stem for a in APPS} | {"stage"}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the site exited with {self.proc.returncode}:\n"
                                   + self.log.read_text(errors="replace")[-3000:])
            filled = set(re.findall(r"workbench-site: (\S+) preheated",
                                    self.log.read_text(errors="replace")))
            if wanted <= filled:
                return
            time.sleep(0.5)
        raise TimeoutError(f"kernel pools not filled within {timeout} s: "
                           f"{sorted(wanted - filled)}")

    def wait_listening(self, timeout: float = 120) -> None:
        """Until the server accepts connections (a site without preheated kernels)."""
        wait_listening(self.proc, self.port, self.log, "the site", timeout)

    def wait_pool(self, notebook: str, fills: int, timeout: float = 120) -> None:
        """Until ``notebook``'s kernel has been preheated ``fills`` times (a refill after a
        visit)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.fills(notebook) >= fills:
                return
            time.sleep(0.3)
        raise TimeoutError(f"{notebook}'s pool was not refilled")

    def fills(self, notebook: str) -> int:
        name = Path(notebook).stem
        return self.log.read_text(errors="replace").count(f"workbench-site: {name} preheated")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._fh.close()
