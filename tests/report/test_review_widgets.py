"""The runs page's diff and the stage views' report button, on the Python side (no kernel):
two runs picked give the ordered summary and each step's notebook diff as escaped HTML; the
button's one message builds the page's run report."""

from __future__ import annotations

from pathlib import Path

import nbformat

from workbench.runs import RunStore
from workbench.runs.record import RunState, StepState


def _run(store: RunStore, epochs: int, loss: str):
    run = store.create(pipeline=["01_a"])
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(f"epochs = {epochs}", id="p",
                                       metadata={"tags": ["parameters"]})
    fit = nbformat.v4.new_code_cell("fit()", id="f", execution_count=3)
    fit.outputs = [nbformat.v4.new_output("stream", text=f"loss {loss} <b>\n")]
    nb.cells += [params, fit]
    (run.path / "01_a").mkdir()
    nbformat.write(nb, run.path / "01_a" / "01_a.ipynb")
    run.update_step("01_a", state=StepState.SUCCEEDED, notebook="01_a/01_a.ipynb",
                    parameters={"epochs": epochs}, metrics={"loss": float(loss)})
    run.set(state=RunState.SUCCEEDED)
    return run


def test_runs_view_diffs_the_two_picked_runs(tmp_path: Path) -> None:
    from workbench.widgets import RunsView

    store = RunStore(tmp_path / "runs")
    a, b = _run(store, 2, "0.5"), _run(store, 3, "0.25")
    view = RunsView(store, selected=b.id)
    assert view.diff_state == "" and view.diff_html == ""
    view.compare = a.id
    html = view.diff_html
    assert view.diff_state == "done"
    assert f"What changed from run <code>{a.id}</code>" in html
    sections = [s.split("'")[0] for s in html.split("data-section='")[1:]]
    assert sections == ["parameters", "gates", "metrics", "artifacts", "packages"]
    assert "<td>01_a.epochs</td><td>2</td><td>3</td>" in html
    assert "<td>01_a.loss</td><td>0.5</td><td>0.25</td><td>-0.25</td>" in html
    assert "data-step='01_a' data-cells='2'" in html  # the parameters cell and the output
    assert "loss 0.25 &lt;b&gt;" in html and "<b>\n" not in html  # escaped
    assert view.selected == b.id and b.id in view.static_html()
    view.compare = b.id  # one run with itself: nothing to compare
    assert view.diff_state == "" and view.diff_html == ""
    view.compare = "no-such-run"
    assert view.diff_state == "error" and "no-such-run" in view.diff_html
    # the page's address (?run=B&compare=A) gives the same diff from the start
    linked = RunsView(store, selected=b.id, compare=a.id)
    assert linked.diff_state == "done" and linked.diff_html == html


def test_report_button_builds_the_run_report_on_its_message(tmp_path: Path,
                                                           monkeypatch) -> None:
    from workbench.report.cache import CACHE_ENV
    from workbench.widgets.report_download import ReportDownload

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    run = _run(RunStore(tmp_path / "runs"), 2, "0.5")
    button = ReportDownload(run)
    sent = []
    monkeypatch.setattr(button, "send", lambda content, buffers=None: sent.append(
        (content, buffers)))
    button._on_message(button, {"event": "something else"}, [])
    assert button.state == "" and not sent
    button._on_message(button, {"event": "build"}, [])
    assert button.state == "ready" and "KiB (built in" in button.message
    (content, buffers), = sent
    assert content["name"] == f"report_{run.id}.html"
    assert bytes(buffers[0]).startswith(b"<!DOCTYPE html>") and run.id.encode() in buffers[0]
    button._on_message(button, {"event": "build"}, [])
    assert "(cached)" in button.message and len(sent) == 2


def test_report_button_says_why_when_the_report_cannot_be_built(tmp_path: Path,
                                                                monkeypatch) -> None:
    from workbench.report.cache import CACHE_ENV
    from workbench.widgets.report_download import ReportDownload

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    run = _run(RunStore(tmp_path / "runs"), 2, "0.5")
    (run.path / "01_a" / "01_a.ipynb").write_text("{not a notebook")
    button = ReportDownload(run)
    button._on_message(button, {"event": "build"}, [])
    assert button.state == "error" and button.message.startswith(
        "The report could not be built:")
