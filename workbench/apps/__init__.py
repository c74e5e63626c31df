"""Voila apps: a stage notebook (or an app from ``notebooks/apps``) served read-only.

``workbench app NOTEBOOK [--run RUN]`` starts Voila on 127.0.0.1 with the workbench template
(offline, code hidden) and the pre-launch hook that opens the notebook in view mode for a run
(:mod:`workbench.apps.hook`). Voila runs as its own process; the core never imports it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from workbench.apps.hook import RUN_ENV
from workbench.errors import ConfigError
from workbench.pipeline.spec import Pipeline
from workbench.project import Project

__all__ = ["AppCommand", "app_command", "resolve_notebook"]


def _templates_root() -> Path:
    return Path(str(resources.files("workbench.templates")))


def _apps_dir() -> Path:
    return Path(str(resources.files("workbench.notebooks"))) / "apps"


def resolve_notebook(ref: str, project: Project) -> Path:
    """A stage (name, short name or number), an app name from notebooks/apps, or a path."""
    path = Path(ref)
    if path.suffix == ".ipynb" and path.is_file():
        return path.resolve()
    app = _apps_dir() / f"{ref}.ipynb"
    if app.is_file():
        return app
    pipeline = Pipeline.for_project(project)
    try:
        return pipeline.stage(ref).notebook
    except ConfigError:
        # an optional stage the project does not list, switched on for a run (run --with)
        optional = [s for s in Pipeline.optional_stages() if s.matches(ref)]
        if len(optional) == 1:
            return optional[0].notebook
        apps = sorted(p.stem for p in _apps_dir().glob("*.ipynb"))
        extra = ", ".join(s.name for s in Pipeline.optional_stages())
        raise ConfigError(
            f"no stage, app or notebook file '{ref}'",
            hint=f"stages: {', '.join(pipeline.names)}"
            + (f" (optional: {extra})" if extra else "")
            + f"; apps: {', '.join(apps) or 'none'}; or a path to an .ipynb file") from None


@dataclass
class AppCommand:
    argv: list[str]
    env: dict[str, str]
    url: str


def voila_env(project: Project) -> dict[str, str]:
    """The environment a Voila process of the workbench runs in: the workbench template on
    the Jupyter path, the project folder, unbuffered output, and no run chosen yet."""
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(_templates_root()), env.get("JUPYTER_PATH", "")) if p)
    env["WORKBENCH_HOME"] = str(project.root)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop(RUN_ENV, None)
    return env


def app_command(ref: str, *, run: str | None = None, port: int = 8866,
                project: Project | None = None) -> AppCommand:
    project = project or Project.find()
    notebook = resolve_notebook(ref, project)
    if run:
        run = project.store().open(run).id  # fail now, with the list of runs, not in the page
    templates = _templates_root()
    env = voila_env(project)
    if run:
        env[RUN_ENV] = run
    argv = [
        sys.executable, "-m", "voila", str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--template=workbench",
        "--theme=light",
        f"--Voila.config_file_paths={templates / 'voila_config'}",
        "--VoilaConfiguration.show_tracebacks=True",
    ]
    return AppCommand(argv, env, f"http://127.0.0.1:{port}/")


def run_foreground(argv: list[str], env: dict[str, str]) -> int:
    """Run a Voila process until it ends, or until this process is interrupted (Ctrl-C) or
    told to stop (SIGTERM, SIGHUP: a service manager, a closed terminal): then Voila is
    stopped too, and shuts its kernels down, instead of being left running without a parent.
    Returns Voila's exit status."""
    import signal

    proc = subprocess.Popen(argv, env=env)

    def stop(_signum: int, _frame: object) -> None:
        proc.terminate()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                proc.terminate()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def serve(ref: str, *, run: str | None = None, port: int = 8866) -> int:
    """Run the app in the foreground until interrupted; returns Voila's exit status."""
    cmd = app_command(ref, run=run, port=port)
    return run_foreground(cmd.argv, cmd.env)
