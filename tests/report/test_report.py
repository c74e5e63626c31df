"""`workbench report`: one file that opens offline with every figure visible, and its PDF."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ..conftest import ARTIFACTS


@pytest.mark.slow
@pytest.mark.browser
def test_report_opens_offline_with_every_figure(two_runs, tmp_path: Path, browser) -> None:
    """In the session's one browser (a second sync Playwright in the process cannot start)."""
    out = tmp_path / "report.html"
    result = two_runs.workbench("report", two_runs.b, "--out", str(out), "--pdf")
    assert result.code == 0, result.text
    text = out.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), "a web resource"
    assert "<script" not in text and "@import" not in text and "@font-face" not in text
    blocked: list[str] = []
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()

        def route(r):  # noqa: ANN001, ANN202
            if r.request.url.startswith("file:"):
                return r.continue_()
            blocked.append(r.request.url)
            return r.abort()

        page.route("**/*", route)
        page.goto(out.as_uri(), wait_until="load")
        assert page.locator("#cover h1").inner_text().endswith(two_runs.b)
        images = page.locator("img")
        assert images.count() >= 2
        sizes = page.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth])")
        assert all(done and width > 0 for done, width in sizes), sizes
        code = page.locator(".jp-CodeCell:not(.celltag_wb-report) .jp-Cell-inputWrapper").first
        assert not code.is_visible()
        page.locator("label[for=wb-show-code]").click()
        assert code.is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=False)
    finally:
        context.close()
    assert blocked == []
    pdf = out.with_suffix(".pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 1


@pytest.mark.slow
def test_report_bad_input(two_runs, tmp_path: Path) -> None:
    nowhere = two_runs.workbench("report", two_runs.a, "--out", str(tmp_path / "no" / "r.html"))
    assert nowhere.code == 1 and "does not exist" in nowhere.err and "mkdir" in nowhere.err
    stage = two_runs.workbench("report", two_runs.a, "--stages", "serving")
    assert stage.code == 1 and "has no step 'serving'" in stage.err
    only = two_runs.workbench("report", two_runs.a, "--stages", "train",
                              "--out", str(tmp_path / "t.html"))
    assert only.code == 0 and "1 stage(s)" in only.out


def test_failed_run_is_marked_on_the_cover(tmp_path: Path) -> None:
    from workbench.report.build import render_report
    from workbench.runs import RunStore
    from workbench.runs.record import RunState, StepState

    run = RunStore(tmp_path / "runs").create(pipeline=["01_a", "02_b"])
    run.update_step("01_a", state=StepState.FAILED, error={
        "cell": 3, "ename": "ValueError", "evalue": "column 'age' is negative"})
    run.set(state=RunState.FAILED)
    html, shown = render_report(run)
    assert shown == ["01_a"]
    assert re.search(r"failed in 01_a: ValueError: column (&#x27;|')age(&#x27;|') is negative", html)
    assert "wb-error" in html and "not run" in html and "no executed notebook" in html
