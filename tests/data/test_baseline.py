"""Which run is the baseline, and which schema is the reference."""

from __future__ import annotations

import pyarrow as pa
import pytest
from tensorflow_metadata.proto.v0 import schema_pb2

from workbench.data.baseline import choose_schema, find_baseline
from workbench.data.stats import compute_statistics
from workbench.runs.step import Step
from workbench.runs.store import RunStore


def _run(store: RunStore, *, gate: bool | None = None, blessed: bool | None = None,
         with_stats: bool = True, dataset: str | None = "fraud",
         columns: tuple[str, ...] = ("x", "y")):
    run = store.create(state="succeeded")
    step = Step(run, "01_data_validation", "compute")
    step.save("data_card", {"label": "y", "dataset": dataset,
                            "columns": [{"name": c} for c in columns]})
    if with_stats:
        step.save("stats_train", compute_statistics(pa.table({"x": [run.id]})), kind="proto")
        step.save("schema", schema_pb2.Schema(feature=[schema_pb2.Feature(name=run.id)]),
                  kind="pbtxt")
    if gate is not None:
        step.gate("data_validation", gate)
    run.update_step("01_data_validation", state="succeeded")
    if blessed is not None:
        ev = Step(run, "03_evaluate", "compute")
        ev.save("blessing", {"blessed": blessed, "checks": []})
        run.update_step("03_evaluate", state="succeeded")
    return run


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


def test_a_blessed_run_wins_over_later_runs_that_passed_the_gate(store):
    blessed = _run(store, gate=True, blessed=True)
    _run(store, gate=True, blessed=False)
    passed = _run(store, gate=True)
    _run(store, gate=False)
    _run(store, gate=True, with_stats=False)
    current = Step(_run(store, gate=None, with_stats=False), "01_data_validation", "view")
    found = find_baseline(current)
    assert found.run.id == blessed.id and found.why == "blessed"
    assert "its model was blessed" in found.description
    assert found.statistics().datasets[0].features[0].path.step[0] == "x"
    # without a blessing: the latest run that passed the gate
    (blessed.path / "03_evaluate" / "blessing.json").write_text('{"blessed": false}')
    found = find_baseline(current)  # the changed file fails its hash check: not blessed
    assert found.run.id == passed.id and found.why == "gate_passed"


def test_only_runs_of_the_same_data_are_baselines(store):
    fraud = _run(store, gate=True)
    _run(store, gate=True, dataset="wine")
    _run(store, gate=True, dataset=None)  # read from a file
    current = Step(_run(store, gate=None), "01_data_validation", "view")
    assert find_baseline(current, label="y", dataset="fraud").run.id == fraud.id
    assert find_baseline(current, label="y", dataset=None).run.id != fraud.id
    assert find_baseline(current, label="other", dataset="fraud") is None


def test_no_baseline_without_a_passed_gate(store):
    _run(store, gate=False)
    current = Step(_run(store, gate=None), "01_data_validation", "view")
    assert find_baseline(current) is None


def test_schema_choice_order(store, tmp_path):
    inferred = schema_pb2.Schema(feature=[schema_pb2.Feature(name="inferred")])
    baseline_run = _run(store, gate=True)
    current = Step(_run(store, gate=None), "01_data_validation", "view")
    baseline = find_baseline(current)
    user = tmp_path / "mine.pbtxt"
    user.write_text('feature { name: "mine" type: INT }\n')
    pick = choose_schema(schema_path=user, dataset="fraud", baseline=baseline, inferred=inferred)
    assert (pick.source, pick.schema.feature[0].name) == ("parameter", "mine")
    pick = choose_schema(schema_path=None, dataset="fraud", baseline=baseline, inferred=inferred)
    assert pick.source == "bundled" and pick.schema.feature[0].name == "transaction_id"
    pick = choose_schema(schema_path=None, dataset="wine", baseline=baseline, inferred=inferred)
    assert (pick.source, pick.schema.feature[0].name) == ("baseline", baseline_run.id)
    pick = choose_schema(schema_path=None, dataset=None, baseline=None, inferred=inferred)
    assert pick.source == "inferred"


def test_files_with_the_same_label_but_other_columns_are_not_the_same_data(store):
    other = _run(store, gate=True, blessed=True, dataset=None, columns=("a", "y"))
    same = _run(store, gate=True, dataset=None, columns=("x", "y"))
    current = Step(_run(store, with_stats=False, dataset=None), "01_data_validation", "view")
    found = find_baseline(current, label="y", dataset=None, columns={"x", "y"})
    assert found.run.id == same.id and found.why == "gate_passed"
    assert find_baseline(current, label="y", dataset=None, columns={"a", "y"}).run.id == other.id
