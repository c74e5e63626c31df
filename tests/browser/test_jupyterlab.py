"""The stage notebooks in JupyterLab 4, in a real browser: an executed notebook opened without
a kernel shows its static pictures, and a live run renders the widgets. JupyterLab is started
the way `make lab` starts it, and must not reach the internet."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time

import pytest

from workbench.apps.lab import lab_command
from workbench.pipeline.spec import package_notebook
from workbench.project import Project

from ..conftest import ARTIFACTS
from .apps_harness import project_with_run
from .conftest import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def lab(small_runs, tmp_path):
    """JupyterLab on a copy of a finished small run (the live notebook writes into it)."""
    source_root, run_id = small_runs.upto("01_data_validation")
    root = project_with_run(source_root, run_id, tmp_path / "lab-project")
    (root / "notebooks").mkdir()
    shutil.copy(package_notebook("01_data_validation.ipynb"), root / "notebooks")
    port, token = free_port(), "workbench-test"
    cmd = lab_command(port=port, token=token, project=Project.load(root))
    # render every cell at once (JupyterLab 4 renders long notebooks lazily while scrolling)
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    cmd.env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp_path / "lab-settings")
    # JupyterLab saves each workspace's layout (the notebooks open) and restores it on the next
    # page load; by default under ~/.jupyter, so notebooks from an earlier session (or `make
    # lab`) would reopen here and one of them, not the notebook under test, could be current
    cmd.env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path / "lab-workspaces")
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


# The tab of an open document carries its path in its title (`Name: …\nPath: …`) and the id of
# its panel in data-id. The notebook's panel, once its tab is the current one (the Run menu and
# the status bar act on the current notebook).
_CURRENT_PANEL = """path => {
  const tab = [...document.querySelectorAll('.lm-DockPanel .lm-TabBar-tab.lm-mod-current')]
    .find(t => t.title.split('\\n').includes(`Path: ${path}`));
  return tab ? tab.dataset.id : null;
}"""

# The kernel is connected and idle. The toolbar's execution indicator alone says nothing: it
# shows data-status="idle" before the notebook has a kernel ("No Kernel", status "Initializing")
# and only then goes initializing, connecting, unknown, idle. The status bar's kernel item
# shows the session's display status, which is "Idle" only once the kernel is connected.
_KERNEL_IDLE = """panel => {
  const p = document.getElementById(panel);
  const indicator = p && p.querySelector('.jp-Notebook-ExecutionIndicator');
  const name = p && p.querySelector('.jp-Toolbar-kernelName');
  const status = document.querySelector(
    "#jp-main-statusbar .jp-StatusBar-TextItem[title^='Change kernel for']");
  return {indicator: indicator && indicator.dataset.status,
          kernel: name && name.getAttribute('aria-label'),
          status: status && status.textContent};
}"""

# Each code cell's execution-count prompt: "[ ]:" not run, "[*]:" queued or running, "[3]:" ran.
_PROMPTS = """panel => [...document.getElementById(panel).querySelectorAll('.jp-CodeCell')].map(c => [
  (c.querySelector('.jp-InputPrompt') || {}).textContent,
  (c.querySelector('.jp-InputArea-editor .cm-line') || {}).textContent])"""

# Live widget outputs (a renderer without data-mime-type) that have no rendered view yet.
_UNRENDERED_VIEWS = """panel => [...document.getElementById(panel)
  .querySelectorAll('.jp-OutputArea-output:not([data-mime-type])')]
  .filter(v => !v.querySelector('.wb')).map(v => v.textContent.trim().slice(0, 120))"""


def _wait(page, js: str, arg, ok, timeout_ms: int, what: str):
    """Wait until ``ok(value of js(arg))``; on timeout, fail with ``what`` and the last value."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    check = f"arg => ({ok})(({js})(arg))"
    try:
        page.wait_for_function(check, arg=arg, timeout=timeout_ms, polling=100)
    except PlaywrightTimeout:
        page.screenshot(path=str(ARTIFACTS / "jupyterlab_wait_failed.png"))
        raise AssertionError(f"{what} within {timeout_ms / 1000:.0f} s; "
                             f"last seen: {page.evaluate(js, arg)}") from None
    return page.evaluate(js, arg)


def _open_notebook(page, url: str, path: str) -> str:
    page.goto(url, timeout=120_000)
    panel = _wait(page, _CURRENT_PANEL, path, "v => v !== null", 120_000,
                  f"{path} was not the current notebook")
    return panel


def test_notebooks_in_jupyterlab(lab, browser, request):
    base, token, root, run_id = lab
    external: list[str] = []
    errors: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    context, page = _page(browser, external, errors)
    try:
        executed = f"runs/{run_id}/01_data_validation/01_data_validation.ipynb"
        outputs = [o for c in json.loads((root / executed).read_text())["cells"]
                   for o in c.get("outputs", [])]
        widget_outputs = [i for i, o in enumerate(outputs)
                          if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        assert widget_outputs and all("text/html" in outputs[i]["data"] for i in widget_outputs)
        panel = _open_notebook(page, f"{base}/lab/tree/{executed}?token={token}", executed)
        # untrusted and without a kernel: every widget output falls back to its static picture
        # (wait for all of the file's outputs to be rendered, then look at each of them)
        rendered = f"#{panel} .jp-OutputArea-output"
        _wait(page, f"n => document.querySelectorAll({json.dumps(rendered)}).length", None,
              f"n => n === {len(outputs)}", 120_000,
              f"the executed notebook did not render its {len(outputs)} outputs")
        mimes = page.locator(rendered).evaluate_all("os => os.map(o => o.dataset.mimeType)")
        for i in widget_outputs:
            assert mimes[i] == "text/html", (i, mimes)
            assert page.locator(rendered).nth(i).locator(".wb").count() >= 1, i
        assert page.locator(f"{rendered}:not([data-mime-type])").count() == 0
        page.screenshot(path=str(ARTIFACTS / "jupyterlab_executed_notebook.png"))
        context.close()

        live = "notebooks/01_data_validation.ipynb"
        code_cells = sum(c["cell_type"] == "code"
                         for c in json.loads((root / live).read_text())["cells"])
        context, page = _page(browser, external, errors)
        # a workspace of its own: only this notebook opens (the default workspace would
        # restore the executed notebook of the first page beside it)
        panel = _open_notebook(page, f"{base}/lab/workspaces/live/tree/{live}?token={token}",
                               live)
        _wait(page, _KERNEL_IDLE, panel,
              "s => s.indicator === 'idle' && s.kernel && s.kernel !== 'No Kernel' "
              "&& / \\| Idle$/.test(s.status || '')", 120_000,
              "the notebook's kernel was not connected and idle")
        assert page.evaluate(_CURRENT_PANEL, live) == panel  # Run All acts on this notebook
        before = page.evaluate(_PROMPTS, panel)
        assert len(before) == code_cells and all((p or "").strip() == "[ ]:" for p, _ in before), \
            f"cells show execution counts before Run All: {before}"
        page.click(".lm-MenuBar-itemLabel:text-is('Run')", timeout=30_000)
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')", timeout=30_000)
        widget = f"#{panel} .jp-OutputArea-output:not([data-mime-type])"  # a live widget view
        try:
            prompts = _wait(page, _PROMPTS, panel,
                            f"ps => ps.length === {code_cells} && "
                            "ps.every(([p]) => /^\\[\\d+\\]:$/.test((p || '').trim()))",
                            240_000, "not every code cell ran (prompt, first line)")
            counts = [int(p.strip()[1:-2]) for p, _ in prompts]
            assert counts == sorted(counts), f"cells ran out of order: {prompts}"
            _wait(page, _UNRENDERED_VIEWS, panel, "v => v.length === 0", 120_000,
                  "widget outputs without a rendered view")
        except AssertionError:
            page.screenshot(path=str(ARTIFACTS / "jupyterlab_live_failed.png"), full_page=True)
            outs = page.locator(f"#{panel} .jp-OutputArea-output")
            (ARTIFACTS / "jupyterlab_live_failed.txt").write_text(
                "\n=====\n".join(outs.nth(i).evaluate("n => n.outerHTML.slice(0, 400)")
                                 for i in range(outs.count())))
            raise
        # the same widgets as in the executed notebook: data card, progress, statistics, ...
        assert page.locator(widget).count() == len(widget_outputs)
        # the last cell ran in this session: its output is the gate banner
        last = page.locator(f"#{panel} .jp-CodeCell").last
        assert "gate data_validation passed" in last.locator(".jp-OutputArea").inner_text()
        stderr = page.locator(f"#{panel} [data-mime-type='application/vnd.jupyter.stderr'], "
                              f"#{panel} [data-mime-type='application/vnd.jupyter.error']")
        assert stderr.count() == 0, stderr.first.inner_text()
        # live and interactive: typing filters the data card's table
        search = page.locator(f"{widget} .wb-data-card input[type=search]")
        assert search.count() == 1
        search.fill("amount")
        page.wait_for_function(f"document.querySelector('{widget} .wb-data-card table')"
                               ".querySelectorAll('tr').length === 2")
        page.screenshot(path=str(ARTIFACTS / "jupyterlab_live_widgets.png"))
    finally:
        context.close()
    assert not external, f"JupyterLab fetched from outside 127.0.0.1: {external}"
    assert not errors, f"page errors: {errors}"
