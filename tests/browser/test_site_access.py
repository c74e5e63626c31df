"""The site as a team server runs it (a token) on a project with nothing to show yet, in
headless Chromium: without the token a visitor sees nothing; the token once in the address
logs the browser in for every page; a project without runs says to run ``make demo``; an
unfinished run says so and links the runs page. No preheated kernels here (each page starts its
kernel), so the server comes up at once."""

from __future__ import annotations

import secrets
import urllib.error
import urllib.request

import pytest

from workbench.runs import RunStore

from ..conftest import ARTIFACTS
from .apps_harness import Site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOKEN = secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    root = tmp_path_factory.mktemp("bare-project")
    (root / "workbench.yaml").write_text("runs_dir: runs\n")
    site = Site(root, tmp_path_factory.mktemp("site") / "site.log", token=TOKEN, pool_size=0)
    try:
        site.wait_listening()
        yield root, site
    finally:
        site.stop()


def test_without_the_token_a_visitor_gets_neither_pages_nor_kernels(bare, browser):
    _, site = bare
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(site.url("home"))
    assert response is not None and response.status in (401, 403) \
        or "/login" in page.url, (response and response.status, page.url)
    assert page.locator(".wb-document").count() == 0
    assert "TF Workbench" not in page.content()
    context.close()
    opener = urllib.request.build_opener(_NoRedirect)
    for path in ("voila/render/model_card.ipynb", "api/kernels", "api/contents"):
        with pytest.raises(urllib.error.HTTPError) as err:
            opener.open(site.base + path, timeout=30)
        # refused, sent to the login page, or not served at all
        assert err.value.code in (302, 401, 403, 404), (path, err.value.code)
        if err.value.code == 302:
            assert "/login" in err.value.headers["Location"], err.value.headers["Location"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


def test_the_token_once_logs_in_and_pages_say_what_to_do(bare, app_page):
    root, site = bare
    page = app_page(site.url("home", token=TOKEN), wait_for=".wb-document")
    text = page.inner_text(".wb-document")
    assert "no runs yet" in text and "make demo" in text, text
    assert page.locator(".wb-app-card").count() >= 5  # the apps are still listed
    # the navigation bar's links carry no token: the login cookie does
    page.click("#wb-nav a:has-text('Model card')")
    page.wait_for_selector(".wb-document", timeout=120_000)
    assert "token" not in page.url
    assert "no runs yet" in page.inner_text(".wb-document")

    # a run this process executes (it holds the run's owner lock, as the runner does)
    run = RunStore(root / "runs").create(state="running", pipeline=["01_data_validation"])
    with run.owned():
        page.goto(site.url("model_card", run=run.id))  # same browser: logged in by the cookie
        page.wait_for_selector(".wb-problem", timeout=120_000)
        problem = page.inner_text(".wb-problem")
        assert f"Run {run.id} has not finished yet" in problem and "running" in problem, problem
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "apps_unfinished_run.png"), full_page=True)
        page.click(".wb-problem a[href*='runs.ipynb']")
        row = page.wait_for_selector(f".wb-run-row[data-run='{run.id}']", timeout=120_000)
        assert "running" in row.inner_text().lower(), row.inner_text()


def test_document_pages_come_drawn_by_the_server(bare):
    """The home page's document is in the HTML the server streams, outside any script, so it
    shows before Voila's JavaScript has loaded (widgets/panel.py Document)."""
    import re

    _, site = bare
    with urllib.request.urlopen(site.url("home", token=TOKEN), timeout=120) as response:
        html = response.read().decode()
    outside_scripts = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert "class='wb wb-panel wb-document' data-kind='home'" in outside_scripts
    assert outside_scripts.count("wb-app-card") >= 5
    assert "application/vnd.voila.cell-output+json" not in html  # no output left for JS
