"""Browser-test harness: real Voila servers, driven by headless Debian Chromium via Playwright.

Later stages reuse it: start an app with ``voila_app(notebook, run=...)``, open it with
``app_page(url, wait_for=selector)``; the page fails the test on any JavaScript error, any
request that leaves 127.0.0.1, and any stderr or error output rendered in the page, and leaves a
screenshot in ``test-artifacts/``. ``app_page`` returns only once Voila has executed every cell
and every output is rendered (each widget output shows its view), so a test reads a finished
page; JavaScript errors raised later, while the test clicks and types, fail it at teardown.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.apps import app_command

from ..conftest import ARTIFACTS
from .apps_harness import free_port, wait_listening

pytestmark = pytest.mark.browser


class VoilaApp:
    def __init__(self, notebook: str, *, project: Path, run: str | None, log: Path) -> None:
        from workbench.project import Project

        self.port = free_port()
        cmd = app_command(notebook, run=run, port=self.port, project=Project.load(project))
        self.url = cmd.url
        self.log = log
        self._fh = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd.argv, env=cmd.env, cwd=project, stdout=self._fh,
                                     stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> None:
        wait_listening(self.proc, self.port, self.log, "voila", timeout)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._fh.close()


@pytest.fixture
def voila_app(tmp_path: Path) -> Iterator:
    apps: list[VoilaApp] = []

    def start(notebook: str, *, project: Path, run: str | None = None) -> VoilaApp:
        app = VoilaApp(notebook, project=project, run=run, log=tmp_path / f"voila-{len(apps)}.log")
        apps.append(app)
        app.wait_ready()
        return app

    yield start
    for app in apps:
        app.stop()


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1])[:120]


# Voila's page is finished when the frontend has replaced every cell-output script of the
# streamed page with a rendered output, and every widget output (a renderer without a
# data-mime-type, unlike text, HTML and image outputs) holds its rendered view (each workbench
# widget draws a `.wb` root synchronously in its render()). `#rendered_cells` turns visible
# earlier (when the last cell has executed), and a test's own selector appears as soon as that
# one widget is drawn, while the others may still be loading.
_VOILA_PENDING = """() => {
  const scripts = document.querySelectorAll(
    'script[type="application/vnd.voila.cell-output+json"]').length;
  const views = [...document.querySelectorAll(
    '#rendered_cells .jp-OutputArea-output:not([data-mime-type])')];
  const empty = views.filter(v => !v.querySelector('.wb')).map(v => {
    const cell = v.closest('[cell-index]');
    return `cell ${cell ? cell.getAttribute('cell-index') : '?'}: `
      + JSON.stringify(v.textContent.trim().slice(0, 120));
  });
  return scripts ? [`${scripts} output(s) not rendered yet`] : empty;
}"""


def wait_rendered(page, timeout_ms: int) -> None:
    """Wait until every output of the Voila page is rendered; on timeout, name what is not."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(f"({_VOILA_PENDING})().length === 0", timeout=timeout_ms)
    except PlaywrightTimeout:
        pending = page.evaluate(_VOILA_PENDING)
        raise AssertionError(f"the Voila page did not finish rendering within "
                             f"{timeout_ms / 1000:.0f} s; widget outputs without a view: "
                             f"{pending}") from None


@pytest.fixture
def app_page(browser, request):
    contexts = []
    late: list[list[str]] = []  # each page's JavaScript errors

    def open_page(url: str, *, wait_for: str = ".jupyter-widgets", timeout_ms: int = 180_000):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        problems: list[str] = []
        external: list[str] = []

        def route(r):
            u = r.request.url
            if u.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
                r.continue_()
            else:
                external.append(u)
                r.abort()

        page.route("**/*", route)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                if m.type == "error" else None)
        page.goto(url, timeout=timeout_ms)
        page.wait_for_selector("#rendered_cells", state="visible", timeout=timeout_ms)
        wait_rendered(page, timeout_ms)
        page.wait_for_selector(wait_for, timeout=timeout_ms)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{_artifact_name(request.node.nodeid)}.png"),
                        full_page=True)
        stderr = page.locator("[data-mime-type='application/vnd.jupyter.stderr'], "
                              ".jp-OutputArea-output[data-mime-type*='error']")
        shown = [stderr.nth(i).inner_text() for i in range(stderr.count())]
        assert not external, f"the page fetched from outside 127.0.0.1: {external}"
        assert not problems, "JavaScript errors on the page:\n" + "\n".join(problems)
        assert not shown, "the page shows error or stderr output:\n" + "\n---\n".join(shown)
        late.append(problems)
        return page

    yield open_page
    for context in contexts:
        context.close()
    errors = [p for problems in late for p in problems]
    if errors:
        pytest.fail("JavaScript errors on the page after it rendered:\n" + "\n".join(errors))
