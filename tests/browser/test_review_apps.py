"""Reviews in a real browser: the runs page diffs two picked runs (the choice kept in the
address), a stage view downloads its run's report, `workbench diff --web` serves nbdime's diff
on 127.0.0.1 only and stops cleanly, and nbdime's extension answers in the lab while the site
keeps it off."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from ..conftest import ARTIFACTS, WORKBENCH
from .conftest import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.2)


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.fixture(scope="module")
def site(two_runs, tmp_path_factory):
    """The stakeholder site on the two runs' project, without preheated kernels (these tests
    open few pages; preheating every app would cost more than it saves)."""
    from workbench.apps.site import site_command
    from workbench.project import Project
    from workbench.report.cache import CACHE_ENV

    port = free_port()
    cmd = site_command(port=port, project=Project.load(two_runs.root), pool_size=0)
    folder = tmp_path_factory.mktemp("review-site")
    cmd.env[CACHE_ENV] = str(folder / "reports")  # the reports the stage views hand out
    log = folder / "site.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd.argv, env=cmd.env, cwd=two_runs.root, stdout=fh,
                                stderr=subprocess.STDOUT)
        try:
            _wait_port(port, proc, log)
            yield f"http://127.0.0.1:{port}/", cmd
        finally:
            _stop(proc)


def test_runs_page_shows_the_diff_of_two_picked_runs(site, two_runs, app_page):
    base, _ = site
    a, b = two_runs.a, two_runs.b
    page = app_page(f"{base}voila/render/runs.ipynb?run={b}", wait_for=".wb-diff-pick")
    page.select_option(".wb-diff-pick", a)
    page.wait_for_selector(".wb-runs-diff[data-state=done] .wb-diff", timeout=60_000)
    # the choice is in the address and the navigation bar, so the link shows the same diff
    query = parse_qs(urlparse(page.url).query)
    assert query["run"] == [b] and query["compare"] == [a]
    assert all(f"run={b}" in h for h in page.locator("#wb-nav a").evaluate_all(
        "as => as.map(x => x.getAttribute('href'))"))
    diff = page.locator(".wb-runs-diff .wb-diff")
    assert diff.get_attribute("data-a") == a and diff.get_attribute("data-b") == b
    sections = page.locator(".wb-diff-section").evaluate_all(
        "ss => ss.map(s => s.dataset.section)")
    assert sections == ["parameters", "data", "gates", "metrics", "artifacts", "packages"]
    params = page.inner_text(".wb-diff-section[data-section=parameters]")
    assert params.index("01_data_validation.rows") < params.index("02_train.epochs")
    assert re.search(r"02_train\.epochs\s+2\s+3", params), params
    train = page.locator(".wb-nbdiff[data-step='02_train']")
    assert int(train.get_attribute("data-cells")) > 0
    train.locator("summary").click()
    text = train.locator(".wb-nbdiff-text").inner_text()
    assert "-  epochs = 2" in text and "+  epochs = 3" in text and "epoch 3 of 3" in text
    assert a not in text and b not in text and "execution_count" not in text
    assert "/id:" not in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review_runs_diff.png"), full_page=True)
    # "clear" drops the second run, from the page and the address (that the address opens
    # the diff directly is tests/report/test_review_widgets.py's: a page costs a kernel)
    page.click(".wb-diff-clear")
    page.locator(".wb-runs-diff .wb-diff").wait_for(state="detached")  # Python's answer
    assert "compare" not in parse_qs(urlparse(page.url).query)


def test_stage_view_downloads_the_run_report(site, two_runs, app_page, tmp_path):
    base, _ = site
    run = two_runs.b
    page = app_page(f"{base}voila/render/stage.ipynb?stage=02_train&run={run}",
                    wait_for=".wb-report-button")
    t0 = time.perf_counter()
    with page.expect_download(timeout=60_000) as dl:
        page.click(".wb-report-button")
    first_s = time.perf_counter() - t0
    assert dl.value.suggested_filename == f"report_{run}.html"
    report = tmp_path / dl.value.suggested_filename
    dl.value.save_as(report)
    page.wait_for_selector(".wb-report-download[data-state=ready]")
    assert "KiB (built in" in page.inner_text(".wb-report-status")
    cached = list(Path(site[1].env["WORKBENCH_REPORT_CACHE"]).glob(f"report_{run}_*.html"))
    assert len(cached) == 1 and cached[0].read_bytes() == report.read_bytes()
    # built once: the second click is served from the cache
    with page.expect_download(timeout=60_000) as dl2:
        page.click(".wb-report-button")
    page.wait_for_function("document.querySelector('.wb-report-status')"
                           ".textContent.includes('(cached)')")
    assert Path(dl2.value.path()).read_bytes() == report.read_bytes()
    # the downloaded file is the offline report: every figure loads with the network blocked
    context = page.context.browser.new_context()
    try:
        offline = context.new_page()
        blocked: list[str] = []
        offline.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:")
                      else (blocked.append(r.request.url), r.abort()))
        offline.goto(report.as_uri(), wait_until="load")
        assert offline.locator("#cover h1").inner_text().endswith(run)
        sizes = offline.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth])")
        assert sizes and all(done and width > 0 for done, width in sizes), sizes
        assert blocked == []
    finally:
        context.close()
    print(json.dumps({"figure": "stage view: report download (first click, s)",
                      "value": round(first_s, 2), "bytes": report.stat().st_size}))


def _listening(port: int) -> list[str]:
    """The local addresses of sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = []
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hexport = fields[1].rsplit(":", 1)
            if int(hexport, 16) == port and fields[3] == "0A":  # LISTEN
                found.append(address)
    return found


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _web_diff(two_runs, log: Path) -> tuple[subprocess.Popen, int, str, Path]:
    """`workbench diff A B --web --step train` started; its process, port, URL and folder."""
    port = free_port()
    env = {**os.environ, "WORKBENCH_HOME": str(two_runs.root)}
    with open(log, "wb") as fh:
        # its own process group, so a failed test can end the command and nbdime's server
        proc = subprocess.Popen([WORKBENCH, "diff", two_runs.a, two_runs.b, "--web", "--step",
                                 "train", "--no-browser", "--port", str(port)],
                                cwd=two_runs.root, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait_port(port, proc, log)
    except AssertionError:
        _kill_group(proc)
        raise
    url = re.search(r"at (http://\S+)", log.read_text()).group(1)
    return proc, port, url, Path(parse_qs(urlparse(url).query)["base"][0]).parent


def test_web_diff_serves_cells_on_loopback_only_and_stops_cleanly(two_runs, browser,
                                                                  tmp_path):
    log = tmp_path / "web.log"
    proc, port, url, folder = _web_diff(two_runs, log)
    try:
        assert url.startswith(f"http://127.0.0.1:{port}/diff?")
        assert _listening(port) == ["0100007F"], "bound to an address other than 127.0.0.1"
        assert folder.is_dir()
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        try:
            page = context.new_page()
            external: list[str] = []
            page.route("**/*", lambda r: r.continue_()
                       if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1",
                                                    "data:", "blob:"))
                       else (external.append(r.request.url), r.abort()))
            page.goto(url)
            # the changed cells show (unchanged ones are folded away by nbdime)
            page.locator(".jp-Cell-diff .jp-Diff-addedchunk").first.wait_for(timeout=60_000)
            assert page.locator(".jp-Cell-diff").count() >= 3
            changed = page.locator(".jp-Cell-diff:not(.jp-Diff-unchanged)")
            assert changed.count() >= 1 and "epochs = " in changed.first.inner_text()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "review_web_diff.png"), full_page=False)
            assert external == []
        finally:
            context.close()
        assert _stop(proc, signal.SIGINT) == 0, log.read_text()[-2000:]  # Ctrl-C
        assert _listening(port) == [], "the nbdime server outlived the command"
        assert not folder.exists(), "the diff's temporary folder is left behind"
        said = log.read_text()
        assert "browser" not in said.replace("--no-browser", ""), said  # quiet: none asked
    finally:
        _kill_group(proc)


def test_web_diff_stops_cleanly_when_terminated(two_runs, tmp_path):
    log = tmp_path / "web.log"
    proc, port, _, folder = _web_diff(two_runs, log)
    try:
        assert _stop(proc, signal.SIGTERM) == 0, log.read_text()[-2000:]
        assert _listening(port) == [] and not folder.exists()
    finally:
        _kill_group(proc)


def _post(url: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"token {token}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_lab_keeps_nbdime_and_the_site_denylists_it(site, tmp_path):
    """`workbench lab` (what `make lab` starts): nbdime's server extension diffs a notebook
    against git HEAD and its lab extension is loaded; the site's pages do not load it."""
    import nbdime
    import nbformat

    from workbench.apps.lab import lab_command
    from workbench.project import Project

    root = tmp_path / "lab-project"
    (root / "notebooks").mkdir(parents=True)
    (root / "workbench.yaml").write_text("runs_dir: runs\n")
    path = root / "notebooks" / "n.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("rows = 3000", id="c1"))
    nbformat.write(nb, path)
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=root, check=True)
    nb.cells[0].source = "rows = 4000"
    nbformat.write(nb, path)
    port, token = free_port(), "workbench-test-token"
    cmd = lab_command(port=port, token=token, project=Project.load(root))
    cmd.env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path / "workspaces")
    log = tmp_path / "lab.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd.argv, env=cmd.env, cwd=root, stdout=fh,
                                stderr=subprocess.STDOUT)
    try:
        _wait_port(port, proc, log)
        lab = f"http://127.0.0.1:{port}"
        assert _post(f"{lab}/nbdime/api/isgit", token, {"path": "notebooks/n.ipynb"}) == {
            "is_git": True}
        answer = _post(f"{lab}/nbdime/api/diff", token, {"base": "git:notebooks/n.ipynb"})
        assert answer["base"]["cells"][0]["source"] == "rows = 3000"  # git HEAD's
        head = nbformat.from_dict(answer["base"])
        # the diff from git HEAD to the file as it is now
        assert answer["diff"] == json.loads(json.dumps(nbdime.diff_notebooks(head, nb)))
        assert answer["diff"], "the change is not in the diff"
        with urllib.request.urlopen(f"{lab}/lab/tree/notebooks?token={token}",
                                    timeout=30) as response:
            lab_page = response.read().decode()
        assert "nbdime-jupyterlab" in lab_page
    finally:
        _stop(proc)
    base, site_cmd = site
    assert "--VoilaConfiguration.extension_denylist=nbdime-jupyterlab" in site_cmd.argv
    with urllib.request.urlopen(f"{base}voila/render/runs.ipynb", timeout=120) as response:
        site_page = response.read().decode()
    assert "federated_extensions" in site_page or "jupyter-config-data" in site_page
    assert "nbdime" not in site_page
