"""The report stays small: redrawn progress bars, long logs and long tables are downsampled
with a note saying what was left out, widget state never reaches it; and the apps' cached
report is built once per run content."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from workbench.report.build import MAX_TABLE_ROWS, MAX_TEXT_LINES, render_report, shrink_output
from workbench.runs import RunStore
from workbench.runs.record import RunState, StepState


def _bloated_run(root: Path):
    """A run whose one step printed a per-batch progress bar, a long log, a long table and
    a widget (with its state in the notebook's metadata)."""
    run = RunStore(root / "runs").create(pipeline=["01_a"])
    nb = nbformat.v4.new_notebook(metadata={"widgets": {
        "application/vnd.jupyter.widget-state+json": {"state": {"x" * 32: {"big": "s" * 50_000}}}}})
    bar = "".join(f"\r{b}/2000 [====>....] - loss: 0.{b:04d}" for b in range(1, 2001)) + "\n"
    log = "".join(f"line {i}\n" for i in range(5000))
    rows = "".join(f"<tr><td>feature_{i}</td><td>{i}</td></tr>" for i in range(3000))
    cell = nbformat.v4.new_code_cell("fit()", id="c1")
    cell.outputs = [
        nbformat.v4.new_output("stream", text=bar),
        nbformat.v4.new_output("stream", name="stderr", text=log),
        nbformat.v4.new_output("display_data", data={
            "text/html": f"<table><tr><th>name</th><th>value</th></tr>{rows}</table>",
            "application/vnd.jupyter.widget-view+json": {"model_id": "m" * 32}}),
    ]
    nb.cells.append(cell)
    (run.path / "01_a").mkdir()
    nbformat.write(nb, run.path / "01_a" / "01_a.ipynb")
    run.update_step("01_a", state=StepState.SUCCEEDED, notebook="01_a/01_a.ipynb")
    run.set(state=RunState.SUCCEEDED)
    return run


def test_bloating_outputs_are_downsampled_with_a_note(tmp_path: Path) -> None:
    run = _bloated_run(tmp_path)
    body, _ = render_report(run)
    assert len(body) < 120_000, len(body)  # the notebook itself is over 1 MB of output
    assert "2000/2000 [====&gt;....] - loss: 0.2000" in body
    assert "1/2000 [" not in body, "every redrawn progress bar kept"
    assert "line 0\n" in body and "line 4999" in body and "line 2500\n" not in body
    assert f"{5000 - MAX_TEXT_LINES:,} lines left out here" in body
    assert "feature_0<" in body and f"feature_{MAX_TABLE_ROWS - 1}<" in body
    assert f"feature_{MAX_TABLE_ROWS}<" not in body
    assert re.search(rf"{3000 - MAX_TABLE_ROWS:,} more rows left out \(the executed notebook "
                     r"01_a/01_a.ipynb has them all\)", body)
    assert "widget-state" not in body and "widget-view" not in body and "s" * 1000 not in body


def test_shrink_output_leaves_small_outputs_alone() -> None:
    small = {"output_type": "display_data",
             "data": {"text/html": "<table><tr><td>1</td></tr></table>", "text/plain": "x"}}
    assert shrink_output(dict(small), "nb") == small
    stream = {"output_type": "stream", "name": "stdout", "text": "a\r\nb\n"}
    assert shrink_output(dict(stream), "nb")["text"] == "a\r\nb\n"  # CRLF is not a redraw
    nested = ("<table><tr><td><table>" + "<tr><td>i</td></tr>" * (MAX_TABLE_ROWS + 5)
              + "</table></td></tr></table>")
    out = shrink_output({"output_type": "display_data", "data": {"text/html": nested}}, "nb")
    assert out["data"]["text/html"].count("<tr><td>i</td></tr>") == MAX_TABLE_ROWS
    assert "5 more rows left out" in out["data"]["text/html"]


def test_cached_report_is_built_once_per_run_content(tmp_path: Path, monkeypatch) -> None:
    from workbench.report.cache import CACHE_ENV, cached_report

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    run = RunStore(tmp_path / "runs").create(pipeline=["01_a", "02_b"])
    run.update_step("01_a", state=StepState.FAILED, error={
        "cell": 2, "ename": "ValueError", "evalue": "no rows"})
    run.set(state=RunState.FAILED)
    first, cached = cached_report(run)
    assert not cached and first.path.parent == tmp_path / "cache"
    assert "failed in 01_a: ValueError: no rows" in first.path.read_text()
    again, cached = cached_report(run)
    assert cached and again.path == first.path
    run.update_step("01_a", state=StepState.SUCCEEDED, error=None)  # the run moved on
    run.set(state=RunState.SUCCEEDED)
    third, cached = cached_report(run)
    assert not cached and third.path != first.path
    assert not first.path.exists(), "the stale report of the run is removed"
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [third.path.name]
