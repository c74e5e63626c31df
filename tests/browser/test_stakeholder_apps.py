"""The stakeholder site (`workbench apps`) in headless Chromium, on a small finished run:
navigation with the run kept, the try page's answer against an in-process prediction, the
what-if curve, CSV upload and download, the model card's three exports, the serving monitor
under load, bad input, timings, and that a page cannot execute code in its kernel."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ..conftest import ARTIFACTS
from .apps_harness import Site

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(small_runs):
    return small_runs.upto("06_serving")


@pytest.fixture(scope="module")
def site(demo, tmp_path_factory):
    root, _ = demo
    s = Site(root, tmp_path_factory.mktemp("site") / "site.log")
    try:
        s.wait_ready()
        yield s
    finally:
        s.stop()


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"apps_{name}.png"), full_page=True)


def test_home_then_model_card_then_try_and_back_keep_the_run(site, demo, app_page):
    _, run_id = demo
    page = app_page(site.url("home", run=run_id), wait_for=".wb-app-card")
    assert page.locator(".wb-run-banner").get_attribute("data-run") == run_id
    assert page.locator("#wb-nav a[aria-current=page]").inner_text() == "Home"
    page.click("#wb-nav a:has-text('Model card')")
    page.wait_for_selector(".wb-model-card", timeout=60_000)
    assert f"run={run_id}" in page.url
    assert page.locator(".wb-run-banner").get_attribute("data-run") == run_id
    assert "decision threshold" in page.inner_text(".wb-model-card").lower()
    page.click("#wb-nav a:has-text('Try the model')")
    page.wait_for_selector(".wb-answer", timeout=60_000)
    assert f"run={run_id}" in page.url
    page.go_back()
    page.wait_for_selector(".wb-model-card", timeout=60_000)
    assert page.locator(".wb-run-banner").get_attribute("data-run") == run_id
    _shot(page, "model_card")


def _in_process_score(root: Path, run_id: str, values: dict) -> float:
    """The exported model called here, apart from the page's code path."""
    import tensorflow as tf

    from workbench.runs import RunStore

    run = RunStore(root / "runs").open(run_id)
    info = json.loads((run.path / "02_train/model_info.json").read_text())
    fn = tf.saved_model.load(str(run.path / "04_export/saved_model")).signatures[
        "serving_default"]
    feed = {}
    for f in info["features"]:
        v = values[f["name"]]
        feed[f["input"]] = tf.constant([str(v)] if f["dtype"] == "string"
                                       else np.array([float(v)], dtype=np.float32))
    return float(fn(**feed)["probabilities"].numpy()[0, 1])


def test_try_answers_like_the_model_and_moves_the_what_if_curve(site, demo, app_page):
    root, run_id = demo
    page = app_page(site.url("try", run=run_id), wait_for=".wb-answer")
    page.fill("input[data-feature='amount']", "1500")
    before = page.locator(".wb-answer").get_attribute("data-score")
    t0 = time.perf_counter()
    page.click(".wb-try-submit")
    page.wait_for_function(
        f"document.querySelector('.wb-answer') && "
        f"document.querySelector('.wb-answer').dataset.score !== '{before}'", timeout=10_000)
    answer_ms = (time.perf_counter() - t0) * 1e3
    values = {}
    for el in page.locator(".wb-form [data-feature]").all():
        values[el.get_attribute("data-feature")] = el.input_value()
    shown = float(page.locator(".wb-answer").get_attribute("data-score"))
    assert shown == pytest.approx(_in_process_score(root, run_id, values), abs=1e-5)
    assert "in process" in page.inner_text(".wb-try-source")  # no server serves it here
    assert page.locator(".wb-try-warning").count() >= 1  # and the page says so
    page.click("text=For engineers: the request")
    assert '"instances"' in page.inner_text(".wb-try-request")
    assert page.inner_text(".wb-try-curl").startswith("curl -s -X POST")
    # what-if: another feature redraws the curve
    page.select_option(".wb-ice-feature", "customer_age")
    page.wait_for_selector(".wb-ice[data-feature='customer_age'] .wb-ice-line")
    # an out-of-range value warns and still answers
    page.fill("input[data-feature='customer_age']", "-5")
    page.click(".wb-try-submit")
    page.wait_for_selector(".wb-try-warning:has-text('outside the schema')")
    assert page.locator(".wb-answer").count() == 1
    _shot(page, "try")
    print(json.dumps({"figure": "try answer after click (browser, ms)",
                      "value": round(answer_ms, 1)}))
    assert answer_ms < 1500  # the bench measures the ≤ 300 ms target on an idle machine


def test_try_scores_an_uploaded_csv_and_refuses_a_bad_one(site, demo, app_page, tmp_path):
    root, run_id = demo
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    run_dir = root / "runs" / run_id
    table = pq.read_table(run_dir / "01_data_validation/eval.parquet").slice(0, 40)
    good = tmp_path / "cases.csv"
    pcsv.write_csv(table, good)
    bad = tmp_path / "bad.csv"
    pcsv.write_csv(table.drop(["amount", "country"]), bad)
    page = app_page(site.url("try", run=run_id), wait_for=".wb-answer")
    page.set_input_files(".wb-try-upload", str(good))
    page.wait_for_selector(".wb-batch-download", timeout=20_000)
    assert "40 rows scored" in page.inner_text(".wb-batch-summary")
    with page.expect_download() as dl:
        page.click(".wb-batch-download")
    lines = Path(dl.value.path()).read_text().splitlines()
    assert lines[0].startswith("row,score") and len(lines) == 41
    _shot(page, "try_batch")
    page.set_input_files(".wb-try-upload", str(bad))
    err = page.wait_for_selector(".wb-batch-error", timeout=20_000).inner_text()
    assert "amount" in err and "country" in err


def test_model_card_exports_html_markdown_and_mct_json(site, demo, app_page):
    from workbench.apps.modelcard_mct import validate_mct

    _, run_id = demo
    page = app_page(site.url("model_card", run=run_id), wait_for=".wb-model-card")
    got = {}
    for fmt in ("HTML", "Markdown", "Model Card Toolkit JSON"):
        with page.expect_download() as dl:
            page.click(f".wb-download[data-format='{fmt}']")
        got[fmt] = Path(dl.value.path()).read_text()
    assert got["HTML"].startswith("<!DOCTYPE html>") and "<script" not in got["HTML"]
    assert "## Decision threshold" in got["Markdown"]
    validate_mct(json.loads(got["Model Card Toolkit JSON"]))


def test_overview_and_data_quality_speak_in_sentences(site, demo, app_page):
    _, run_id = demo
    page = app_page(site.url("overview"), wait_for=".wb-timeline")
    assert page.locator(f".wb-run-item[data-run='{run_id}']").count() == 1
    assert "Succeeded" in page.inner_text(f".wb-run-item[data-run='{run_id}']")
    _shot(page, "overview")
    page = app_page(site.url("data_quality", run=run_id), wait_for=".wb-panel")
    assert "problem" in page.inner_text(".wb-panel").lower()
    _shot(page, "data_quality")
    page = app_page(site.url("stage", stage="03_evaluate", run=run_id), wait_for=".wb-decision")
    _shot(page, "stage_03_evaluate")


def test_bad_run_says_so_and_links_the_runs_page(site, app_page):
    page = app_page(site.url("model_card", run="no-such-run"), wait_for=".wb-problem")
    assert "no run 'no-such-run'" in page.inner_text(".wb-problem")
    assert page.locator(".wb-problem a[href*='runs.ipynb']").count() == 1


def test_serving_monitor_shows_traffic_during_a_short_load(site, demo, app_page):
    root, run_id = demo
    from workbench.serving.monitor import enable_logging
    from workbench.serving.process import start_local, stop
    from workbench.serving.repository import Repository

    repo = Repository(root / "serving")
    name = repo.model_names()[0]
    enable_logging(repo, name, sampling_rate=1.0)  # the production-data check reads them
    handle = start_local(repo, rest_port=0, grpc_port=0)
    stop_load = threading.Event()
    try:
        info = json.loads((root / "runs" / run_id / "02_train/model_info.json").read_text())
        instance = {f["input"]: ("x" if f["dtype"] == "string" else 1.0)
                    for f in info["features"]}

        def load() -> None:
            client = handle.rest()
            while not stop_load.is_set():
                client.predict(name, instances=[instance])
                time.sleep(0.01)

        worker = threading.Thread(target=load, daemon=True)
        worker.start()
        page = app_page(site.url("serving"), wait_for=".wb-monitor")
        page.wait_for_function(
            "(() => { const e = document.querySelector('.wb-monitor-rate .wb-answer');"
            " return e && Number(e.dataset.rate) > 0; })()", timeout=20_000)
        # what the server logged, checked against the training data, in sentences
        page.click(".wb-production-check:not([disabled])", timeout=60_000)
        page.wait_for_function(
            "(() => { const m = document.querySelector('.wb-production-model');"
            " return m && Number(m.dataset.instances) > 0; })()", timeout=60_000)
        box = page.locator(".wb-production-model")
        assert box.get_attribute("data-status") in ("ok", "problems")
        assert "the server logged" in box.inner_text() and name in box.inner_text()
        _shot(page, "serving")
    finally:
        stop_load.set()
        if "worker" in locals():
            worker.join(timeout=10)
        stop(repo)
        enable_logging(repo, name, sampling_rate=0)


def test_timings_home_and_apps_render_fast_when_preheated(site, demo, browser):
    """First meaningful render after navigation (each visit uses a preheated kernel)."""
    _, run_id = demo
    figures = {}
    for app, selector in (("home", ".wb-app-card"), ("overview", ".wb-timeline"),
                          ("model_card", ".wb-model-card"), ("try", ".wb-answer"),
                          ("data_quality", ".wb-panel"), ("serving", ".wb-monitor"),
                          ("runs", ".wb-runs")):
        notebook = f"{app}.ipynb"
        fills = site.fills(notebook)
        context = browser.new_context()
        page = context.new_page()
        t0 = time.perf_counter()
        page.goto(site.url(app, run=run_id))
        page.wait_for_selector(selector, timeout=60_000)
        figures[app] = round(time.perf_counter() - t0, 2)
        context.close()
        site.wait_pool(notebook, fills + 1)  # leave a preheated kernel for the next test
    print(json.dumps({"figure": "first render after navigation, cold browser cache (s)",
                      **figures}))
    # generous bounds for a shared 2-core machine; bench/bench_apps.py measures the targets
    assert figures["home"] < 5, figures
    assert max(figures.values()) < 10, figures


def test_a_page_cannot_execute_code_in_its_kernel(site, demo, app_page, tmp_path):
    """Voila accepts only widget (comm) messages: an execute_request sent over the page's
    own kernel websocket is dropped; the code never runs."""
    marker = tmp_path / "executed"
    page = app_page(site.url("home"), wait_for=".wb-app-card")
    html = page.content()
    kernel_id = html.split('"kernelId": "', 1)[1].split('"', 1)[0]
    code = f"open({str(marker)!r}, 'w').write('ran')"
    result = page.evaluate("""async ([kernel, code]) => {
      const ws = new WebSocket(`ws://${location.host}/api/kernels/${kernel}/channels`);
      const seen = [];
      await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
      ws.onmessage = (m) => { try { seen.push(JSON.parse(m.data).msg_type); } catch (e) {} };
      const id = "wb-test-" + Math.random();
      ws.send(JSON.stringify({header: {msg_id: id, msg_type: "execute_request", username: "",
        session: "wb-test", version: "5.3", date: new Date().toISOString()},
        parent_header: {}, metadata: {}, channel: "shell",
        content: {code, silent: false, store_history: false, user_expressions: {},
                  allow_stdin: false, stop_on_error: true}}));
      await new Promise((ok) => setTimeout(ok, 3000));
      ws.close();
      return seen;
    }""", [kernel_id, code])
    assert "execute_reply" not in result and "execute_input" not in result
    assert not marker.exists(), "the page executed code in its kernel"
