"""The workbench exporter: the series a TF Serving stack needs that TF Serving does not export.

At each scrape of ``/metrics`` it asks the model server (TF Serving or the local server, over
REST: ``GET /v1/models/<name>``) for every model of the repository's ``models.config`` and
reports ``workbench_model_versions_available`` (0 when none is AVAILABLE or the server does not
answer) and ``workbench_model_version_state`` per version; then it appends the gauge files
``workbench monitor`` wrote (``<repository>/monitoring/*.prom``: skew and drift scores).
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from workbench.serving.repository import Repository

__all__ = ["exporter_text", "serve_exporter"]

log = logging.getLogger(__name__)

STATE_CODES = {"UNKNOWN": 0, "START": 10, "LOADING": 20, "AVAILABLE": 30, "UNLOADING": 40,
               "END": 50}


def _versions(rest: Any, name: str) -> list[dict[str, Any]]:
    try:
        return rest.status(name)
    except Exception as err:  # noqa: BLE001 - an unreachable server counts as none available
        log.info("status of %s failed: %s", name, err)
        return []


def exporter_text(repo: Repository, rest: Any) -> str:
    lines = ["# HELP workbench_model_versions_available AVAILABLE versions of the model, as "
             "the model server reports them.", "# TYPE workbench_model_versions_available gauge",
             "# HELP workbench_model_version_state State code of each version (30: AVAILABLE).",
             "# TYPE workbench_model_version_state gauge"]
    for name in repo.model_names():
        states = _versions(rest, name)
        available = sum(1 for s in states if s.get("state") == "AVAILABLE")
        lines.append(f'workbench_model_versions_available{{model_name="{name}"}} {available}')
        for s in states:
            lines.append(f'workbench_model_version_state{{model_name="{name}",version='
                         f'"{s.get("version")}",state="{s.get("state")}"}} '
                         f'{STATE_CODES.get(str(s.get("state")), 0)}')
    out = "\n".join(lines) + "\n"
    folder = repo.root / "monitoring"
    for path in sorted(folder.glob("*.prom")) if folder.is_dir() else []:
        try:
            out += path.read_text(encoding="utf-8")
        except OSError as err:
            log.warning("cannot read %s: %s", path, err)
    return out


def serve_exporter(repo: Repository, rest: Any, *, host: str = "127.0.0.1", port: int = 9108
                   ) -> ThreadingHTTPServer:
    """Serve ``/metrics`` on a background thread; ``shutdown()`` the result to stop."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                self.send_error(404)
                return
            body = exporter_text(repo, rest).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug(fmt, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="workbench-exporter",
                     daemon=True).start()
    return server
