"""The stakeholder site: first meaningful render of each app with preheated kernels, against a
cold Voila start of the same notebook; the try page's answer after the click.

* ``<app>_first_render``: navigation → the app's first meaningful element is visible, in
  headless Chromium with a warm browser cache (a returning reader), median of 3 visits, each
  served by a preheated kernel (the bench waits for the pool to refill between visits). Peer:
  the same notebook served by ``workbench app <app>`` (Voila without preheating: each visit
  starts a kernel, which imports the workbench and TensorFlow), median of 2 visits. Targets:
  home <= 1 s, every other app <= 2 s.
* ``try_answer``: click on "Answer" → the answer is redrawn, median of 5. Target <= 300 ms.

``$BENCH_APPS_ONLY=try,serving`` limits the apps measured. Project: ``$BENCH_APPS_PROJECT`` (a folder with finished runs, e.g. after ``make demo``), else a
temporary project where the default pipeline runs with the tests' small parameters first.

Run: ``.venv/bin/python -m bench.bench_apps``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import emit

APPS = (("home", ".wb-app-card", 1.0), ("overview", ".wb-timeline", 2.0),
        ("model_card", ".wb-model-card", 2.0), ("try", ".wb-answer", 2.0),
        ("data_quality", ".wb-panel", 2.0), ("serving", ".wb-monitor", 2.0),
        ("runs", ".wb-runs", 2.0))
REPO = Path(__file__).resolve().parent.parent


def _project() -> Path:
    given = os.environ.get("BENCH_APPS_PROJECT")
    if given:
        return Path(given)
    root = Path(tempfile.mkdtemp(prefix="bench-apps-"))
    (root / "workbench.yaml").write_text("runs_dir: runs\n")
    workbench = str(Path(sys.executable).with_name("workbench"))
    subprocess.run([workbench, "run", "--params", str(REPO / "tests/fixtures/small.yaml")],
                   cwd=root, env={**os.environ, "WORKBENCH_HOME": str(root)}, check=True,
                   stdout=subprocess.DEVNULL)
    return root


def _visit(context, url: str, selector: str) -> float:
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=180_000)  # Voila streams the page
    page.wait_for_selector(selector, timeout=120_000)
    took = time.perf_counter() - t0
    page.close()
    return took


def _wait_port(port: int, timeout: float = 120) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on {port}")


def main() -> None:
    sys.path.insert(0, str(REPO))
    from playwright.sync_api import sync_playwright

    from tests.browser.apps_harness import Site, free_port
    from workbench.apps import app_command
    from workbench.project import Project

    project = _project()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-apps-logs-"))
    site = Site(project, log_dir / "site.log")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or
                                    "/usr/bin/chromium", headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            site.wait_ready()
            context = browser.new_context()
            only = [a for a in os.environ.get("BENCH_APPS_ONLY", "").split(",") if a]
            for app, selector, target in APPS:
                if only and app not in only:
                    continue
                notebook = f"{app}.ipynb"
                times = []
                for i in range(4):  # the first visit fills the browser cache, not counted
                    fills = site.fills(notebook)
                    took = _visit(context, site.url(app), selector)
                    site.wait_pool(notebook, fills + 1)
                    if i:
                        times.append(took)
                preheated = statistics.median(times)
                port = free_port()
                cmd = app_command(app, port=port, project=Project.load(project))
                with open(log_dir / f"cold-{app}.log", "wb") as fh:
                    proc = subprocess.Popen(cmd.argv, env=cmd.env, cwd=project, stdout=fh,
                                            stderr=subprocess.STDOUT)
                try:
                    _wait_port(port)
                    _visit(context, cmd.url, selector)  # warm the browser cache
                    cold = statistics.median(_visit(context, cmd.url, selector)
                                             for _ in range(2))
                finally:
                    proc.terminate()
                    proc.wait(timeout=20)
                emit("apps", f"{app}_first_render", workbench=preheated, peer=cold,
                     peer_name=f"cold Voila start of notebooks/apps/{app}.ipynb "
                               "(workbench app, no preheated kernel)",
                     target=f"<= {target:g} s", ok=preheated <= target)
            page = context.new_page()
            page.goto(site.url("try"), wait_until="commit", timeout=180_000)
            page.wait_for_selector(".wb-answer", timeout=120_000)
            times = []
            for i in range(6):
                page.fill("input[data-feature='amount']", str(100 + 37 * i))
                before = page.locator(".wb-answer").get_attribute("data-score")
                t0 = time.perf_counter()
                page.click(".wb-try-submit")
                page.wait_for_function(
                    "(b) => { const a = document.querySelector('.wb-answer');"
                    " return a && a.dataset.score !== b; }", arg=before, timeout=10_000)
                if i:
                    times.append(time.perf_counter() - t0)
            ms = statistics.median(times) * 1e3
            emit("apps", "try_answer", workbench=ms, unit="ms", target="<= 300 ms",
                 ok=ms <= 300)
        finally:
            browser.close()
            site.stop()


if __name__ == "__main__":
    main()
