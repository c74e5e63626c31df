"""The stage notebooks in JupyterLab 4, in a real browser: an executed notebook opened without
a kernel shows its static pictures, and a live run renders the widgets. JupyterLab is started
the way `make lab` starts it, and must not reach the internet."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from workbench.apps.lab import lab_command
from workbench.pipeline.spec import package_notebook
from workbench.project import Project

from ..conftest import ARTIFACTS
from .conftest import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def lab(small_runs, tmp_path):
    """JupyterLab on a copy of a finished small run (the live notebook writes into it)."""
    source_root, run_id = small_runs.upto("01_data_validation")
    root = tmp_path / "lab-project"
    root.mkdir()
    (root / "workbench.yaml").write_text("runs_dir: runs\n")
    shutil.copytree(source_root / "runs" / run_id, root / "runs" / run_id,
                    ignore=shutil.ignore_patterns("*.lock"))
    (root / "notebooks").mkdir()
    shutil.copy(package_notebook("01_data_validation.ipynb"), root / "notebooks")
    port, token = free_port(), "workbench-test"
    cmd = lab_command(port=port, token=token, project=Project.load(root))
    # render every cell at once (JupyterLab 4 renders long notebooks lazily while scrolling)
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    cmd.env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp_path / "lab-settings")
    log = open(tmp_path / "lab.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd.argv, env=cmd.env, cwd=root, stdout=log, stderr=log)
    deadline = time.monotonic() + 90
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, \
                (tmp_path / "lab.log").read_text()[-3000:]
            time.sleep(0.3)
    yield f"http://127.0.0.1:{port}", token, root, run_id
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _page(browser, external: list[str], errors: list[str]):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()

    def route(r):
        if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page


def test_notebooks_in_jupyterlab(lab, browser, request):
    base, token, root, run_id = lab
    external: list[str] = []
    errors: list[str] = []
    context, page = _page(browser, external, errors)
    try:
        executed = f"runs/{run_id}/01_data_validation/01_data_validation.ipynb"
        page.goto(f"{base}/lab/tree/{executed}?token={token}", timeout=120_000)
        # untrusted and without a kernel: every widget output falls back to its static picture
        static = page.wait_for_selector(
            ".jp-OutputArea-output[data-mime-type='text/html'] .wb", timeout=120_000)
        assert static.is_visible()
        assert page.locator(".jp-OutputArea-output:not([data-mime-type]) .wb").count() == 0
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "jupyterlab_executed_notebook.png"))
        context.close()

        context, page = _page(browser, external, errors)
        page.goto(f"{base}/lab/tree/notebooks/01_data_validation.ipynb?token={token}",
                  timeout=120_000)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                               ".jp-Toolbar-kernelStatus", timeout=120_000)
        page.click(".lm-MenuBar-itemLabel:text-is('Run')", timeout=30_000)
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')", timeout=30_000)
        widget = ".jp-OutputArea-output:not([data-mime-type])"  # a live widget view
        try:
            page.wait_for_selector(f"{widget} .wb", timeout=180_000)
            page.wait_for_function(  # the last cell ran: the gate banner is there
                "[...document.querySelectorAll('.jp-Notebook')].some("
                "n => n.textContent.includes('gate '))", timeout=180_000)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "jupyterlab_live_failed.png"), full_page=True)
            outs = page.locator(".jp-OutputArea-output")
            (ARTIFACTS / "jupyterlab_live_failed.txt").write_text(
                "\n=====\n".join(outs.nth(i).evaluate("n => n.outerHTML.slice(0, 400)")
                                 for i in range(outs.count())))
            raise
        stderr = page.locator("[data-mime-type='application/vnd.jupyter.stderr'], "
                              "[data-mime-type='application/vnd.jupyter.error']")
        assert stderr.count() == 0, stderr.first.inner_text()
        assert page.locator(f"{widget} .wb input[type=search]").count() >= 1  # live and
        # interactive: typing filters a table
        search = page.locator(f"{widget} .wb-data-card input[type=search]")
        if search.count():
            search.first.fill("amount")
            page.wait_for_function("document.querySelector('.wb-data-card table')"
                                   ".querySelectorAll('tr').length === 2")
        page.screenshot(path=str(ARTIFACTS / "jupyterlab_live_widgets.png"))
    finally:
        context.close()
    assert not external, f"JupyterLab fetched from outside 127.0.0.1: {external}"
    assert not errors, f"page errors: {errors}"
