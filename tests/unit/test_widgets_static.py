"""Widgets built without a kernel: their synced state and static pictures."""

from __future__ import annotations

from workbench.runs import RunStore
from workbench.runs.record import Gate, StepRecord
from workbench.runs.step import Step
from workbench.widgets import DataCardView, RunsView, gate_banner


def test_data_card_static_picture_lists_columns() -> None:
    card = {"name": "d", "rows": 1234, "columns": [
        {"name": "age", "type": "int64", "missing": 3, "missing_pct": 0.243}]}
    view = DataCardView(card)
    data, _ = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "1,234 rows" in data["text/html"] and "<td>age</td>" in data["text/html"]


def test_gate_banner_says_why() -> None:
    html = gate_banner({"g": Gate("g", False, ["age: 3 values below 0"])}).data
    assert "gate g failed" in html and "age: 3 values below 0" in html
    record = StepRecord("s", gates={"ok": Gate("ok", True), "<b>": Gate("<b>", False, ["<i>"])})
    html = gate_banner(record).data
    assert "gate ok passed" in html and "&lt;b&gt;" in html and "<li>&lt;i&gt;</li>" in html


def test_runs_view_loads_details_of_the_selected_run(tmp_path) -> None:
    store = RunStore(tmp_path / "runs")
    older = store.create(state="succeeded")
    Step(older, "01_a", "compute").save("x", {"v": 1})
    newer = store.create(state="gate_failed")
    Step(newer, "01_a", "compute").gate("g", False, ["too small"])
    view = RunsView(store)
    assert [r["run_id"] for r in view.runs] == [newer.id, older.id]
    assert view.details["run_id"] == newer.id
    view.selected = older.id
    assert view.details["step_details"][0]["artifacts"]["x"]["kind"] == "json"
    assert newer.id in view.static_html()


def test_data_card_shows_what_was_detected_and_dropped_escaped(tmp_path) -> None:
    from workbench.data.intake import run_intake
    from workbench.data.params import DataValidationParams
    from workbench.data.stage import split

    path = tmp_path / "export.csv"
    rows = "".join(f"{i};{'<script>' if i % 2 else 'Müller & Söhne'};{i % 7},5;"
                   f"{'yes' if i % 3 else 'no'}\n" for i in range(60))
    path.write_bytes(("\ufeffTransaction ID;Händler <i>;Amount (EUR);is_fraud\n" + rows)
                     .encode("utf-8"))
    params = DataValidationParams(data_path=str(path), label="is_fraud")
    got = run_intake(params, path=path)
    train, evals = split(got, params)
    html = DataCardView(got.card(train, evals, params)).static_html()
    assert "<td>Händler &lt;i&gt;</td>" in html and "<i>" not in html  # headers are text
    assert "<td>Amount (EUR)</td>" in html and "<td>amount_eur</td>" in html
    assert "Positive class: <b>yes</b>" in html
    assert "Not a feature: <code>Transaction ID</code> (id:" in html
    assert "<td>delimiter</td><td>;</td><td>detected</td>" in html
    assert "<td>decimal</td><td>,</td><td>detected</td>" in html
