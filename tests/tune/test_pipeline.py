"""Optional stages are off by default and switched on by `workbench run --with STAGE` (or by
listing them in workbench.yaml): each goes right after the last stage it needs."""

from __future__ import annotations

import pytest

from tests.conftest import run_workbench
from workbench.errors import ConfigError
from workbench.pipeline.params import parse_assignments, resolve_parameters
from workbench.pipeline.spec import Pipeline


def test_with_puts_each_optional_stage_after_the_last_stage_it_needs() -> None:
    default = Pipeline.default()
    assert "02_tune" not in default.names
    both = default.including(["02_tune", "bulk_inference"])
    assert both.names == ["01_data_validation", "02_tune", "02_train", "03_evaluate",
                          "04_export", "07_bulk_inference", "05_tflite", "06_serving"]
    assert both.including(["02_tune"]).names == both.names  # already on: unchanged
    # a plain key reaches 02_tune and 02_train alike; a scoped one only its stage
    values = resolve_parameters(both, both.select(), assignments=parse_assignments(
        ["epochs=3", "02_tune.max_trials=4"]))
    assert values["02_tune"] == {"epochs": 3, "max_trials": 4}
    assert values["02_train"] == {"epochs": 3}
    with pytest.raises(ConfigError, match="'05_tflite' is not an optional stage") as err:
        default.including(["05_tflite"])
    assert err.value.hint == "optional stages: 02_tune, 07_bulk_inference"
    short = Pipeline([s for s in default.stages if s.name != "04_export"], {})
    with pytest.raises(ConfigError, match="needs 04_export, which this pipeline lacks"):
        short.including(["07_bulk_inference"])


def test_run_with_an_unknown_stage_exits_with_the_list(project) -> None:
    res = run_workbench("run", "--with", "03_tune", cwd=project)
    assert res.code == 1
    assert "'03_tune' is not an optional stage" in res.err
    assert "fix: optional stages: 02_tune, 07_bulk_inference" in res.err


def test_stages_names_the_optional_stages(project) -> None:
    res = run_workbench("stages", cwd=project)
    assert res.code == 0
    assert res.out.splitlines()[-1] == ("optional stages (workbench run --with STAGE, or list "
                                        "them in workbench.yaml): 02_tune, 07_bulk_inference")


@pytest.mark.slow
def test_workbench_run_with_02_tune_trains_the_values_it_found(project) -> None:
    """Headless, as the nightly job runs it: the search's best values reach 02_train, which
    records which came from tuning, and the search says whether it beat the defaults."""
    import json

    from workbench.runs.store import RunStore

    res = run_workbench("run", "--with", "02_tune", "--to", "02_train",
                        "-p", "rows=2000", "-p", "epochs=1", "-p", "hidden_units=[8]",
                        "-p", "02_tune.max_trials=2", "-p", "02_tune.algorithm=random",
                        cwd=project, timeout=600)
    assert res.code == 0, res.out + res.err
    run = RunStore(project / "runs").latest()
    record = run.record()
    assert [s for s in record.steps] == ["01_data_validation", "02_tune", "02_train"]
    best = json.loads((run.path / "02_tune" / "best_hparams.json").read_text())
    assert best["stopped_by"] == "trials" and isinstance(best["improved"], bool)
    assert best["verdict"]  # beat the defaults, or says it did not
    train = record.steps["02_train"]
    assert train.inputs["02_tune/best_hparams"]
    assert train.metrics["tuned"] == sorted(best["from_tuning"])
