"""JupyterLab for the project: on 127.0.0.1, the notebooks folder open, nothing fetched from the
internet (no news feed, no update check, no extension catalogue from PyPI)."""

from __future__ import annotations

import os
import sys

from workbench.apps import AppCommand
from workbench.project import Project

__all__ = ["lab_command"]


def lab_command(*, port: int = 8888, token: str | None = None,
                project: Project | None = None) -> AppCommand:
    project = project or Project.find()
    argv = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={project.root}",
        "--LabApp.default_url=/lab/tree/notebooks",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if token is not None:
        argv.append(f"--IdentityProvider.token={token}")
    if hasattr(os, "getuid") and os.getuid() == 0:
        argv.append("--allow-root")
    env = {**os.environ, "WORKBENCH_HOME": str(project.root)}
    query = f"?token={token}" if token else ""
    return AppCommand(argv, env, f"http://127.0.0.1:{port}/lab/tree/notebooks{query}")
