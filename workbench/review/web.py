"""nbdime's web diff of one step's notebooks in two runs, on 127.0.0.1.

The two executed notebooks are written, noise removed (:func:`~workbench.review.nbdiff.
stable_notebook`), into a temporary folder that nbdime's server serves; the server runs in the
foreground until stopped.
"""

from __future__ import annotations

import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import nbformat

from workbench.review.nbdiff import NotebookDiff

__all__ = ["WebDiff", "free_port", "serve_web_diff", "web_diff"]


#: nbdime opens a browser whenever it serves; without one wanted, a command that does nothing
#: stands in (Python's ``webbrowser`` runs a name holding ``%s`` as a command line), so it
#: neither opens one nor warns that none was found
_NO_BROWSER = shlex.join([sys.executable, "-c", "pass"]) + " %s"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WebDiff:
    argv: list[str]
    url: str
    folder: Path


def web_diff(d: NotebookDiff, a_id: str, b_id: str, folder: Path, *, port: int = 0,
             open_browser: bool = True) -> WebDiff:
    """Write both notebooks into ``folder`` and the nbdime command that serves their diff."""
    port = port or free_port()
    names = []
    for run_id, nb in ((a_id, d.a), (b_id, d.b)):
        name = f"{d.step}@{run_id}.ipynb"
        nbformat.write(nb, folder / name)
        names.append(name)
    argv = [sys.executable, "-m", "nbdime", "diff-web", "--ip", "127.0.0.1", "--port", str(port),
            "--workdirectory", str(folder), "--log-level", "WARN",
            *([] if open_browser else ["--browser", _NO_BROWSER]),
            *(str(folder / n) for n in names)]
    query = urlencode({"base": str(folder / names[0]), "remote": str(folder / names[1])})
    return WebDiff(argv, f"http://127.0.0.1:{port}/diff?{query}", folder)


def serve_web_diff(d: NotebookDiff, a_id: str, b_id: str, *, port: int = 0,
                   open_browser: bool = True,
                   on_url: Callable[[str], None] | None = None) -> int:
    """Serve the diff until interrupted (Ctrl-C or SIGTERM: the server is stopped and its
    folder removed, exit code 0); returns the server's exit code if it ends by itself."""
    with tempfile.TemporaryDirectory(prefix="workbench-diff-") as tmp:
        cmd = web_diff(d, a_id, b_id, Path(tmp), port=port, open_browser=open_browser)
        proc = subprocess.Popen(cmd.argv)
        previous = _interrupt_on_sigterm()
        try:
            if on_url is not None:
                on_url(cmd.url)
            return proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            return 0
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def _interrupt_on_sigterm() -> Any:
    """SIGTERM raises KeyboardInterrupt (as Ctrl-C does), so a terminated command still stops
    its server and removes its folder; the previous handler, or None off the main thread."""
    def interrupt(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, interrupt)
