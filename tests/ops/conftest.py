"""Operations fixtures: the demo model's exports (shared with the serving tests), a real
Prometheus on 127.0.0.1, free ports."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serving.conftest import make_exports

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None or PROMTOOL is None,
    reason="Debian's prometheus package is not installed (make system-deps installs it)")


@pytest.fixture(scope="session")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    return make_exports(tmp_path_factory)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """A real Prometheus process on 127.0.0.1 and its HTTP API."""

    def __init__(self, config: Path, data: Path) -> None:
        self.port = free_port()
        self.log = data.parent / "prometheus.log"
        self._fh = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={data}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self._fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"

    def api(self, path: str, **params: str) -> Any:
        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as r:
            doc = json.loads(r.read())
        assert doc["status"] == "success", doc
        return doc["data"]

    def query(self, expr: str) -> dict[str, Any]:
        return self.api("query", query=expr)

    def wait(self, what: str | Any, check: Any, timeout: float = 90.0) -> Any:
        """Poll ``check()`` until it returns a truthy value (a real condition), or fail
        naming ``what`` and the log's tail."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"prometheus exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                last = check()
            except OSError as err:  # not listening yet
                last = err
            if last and not isinstance(last, Exception):
                return last
            time.sleep(0.2)
        what = what() if callable(what) else what
        pytest.fail(f"timed out waiting for {what} (last: {last!r})\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._fh.close()


@pytest.fixture
def prometheus_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Prometheus] = []

    def start(config: Path) -> Prometheus:
        p = Prometheus(config, tmp_path / f"tsdb{len(started)}")
        started.append(p)
        p.wait("the Prometheus API", lambda: p.api("status/buildinfo"), timeout=60)
        return p

    yield start
    for p in started:
        p.stop()
