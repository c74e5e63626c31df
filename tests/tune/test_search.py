"""A seeded search on real stage-01 data: interrupted and resumed from its finished trials,
it beats the defaults on the validation metric, and 02_train trains the tuned values and
records which they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.train.helpers import train_step
from workbench.runs.step import Step
from workbench.tune.stage import TuneParams, tune

from .conftest import SMALL

pytestmark = pytest.mark.slow


def test_search_resumes_beats_the_defaults_and_train_uses_its_values(run) -> None:
    params = TuneParams(**SMALL, algorithm="random", max_trials=4)
    seen: list[int] = []

    def interrupt(so_far) -> None:
        seen.append(len(so_far.trials))
        if len(so_far.trials) == 2:
            raise KeyboardInterrupt  # as a user's Ctrl-C, or a killed kernel

    with pytest.raises(KeyboardInterrupt):
        tune(Step(run, "02_tune", "compute"), params, on_trial=interrupt)
    step = Step(run, "02_tune", "compute")
    result = tune(step, params, on_trial=lambda so_far: seen.append(len(so_far.trials)))
    step.finish()
    best, trials = result.best, result.trials
    assert seen == [1, 2, 3, 4]  # trials 0 and 1 were not trained again
    assert run.record().steps["02_tune"].metrics["trials_reloaded"] == 2
    assert [t["trial_id"] for t in trials] == ["0", "1", "2", "3"]
    assert trials[0]["defaults"] and trials[0]["values"]["hidden_units"] == "16"
    assert trials[0]["values"]["learning_rate"] == 0.003
    scores = [t["score"] for t in trials]
    assert best["default_score"] == scores[0] and best["score"] == max(scores)
    assert best["improved"] is True and best["score"] > best["default_score"]
    assert best["verdict"].startswith(f"trial {trials[scores.index(max(scores))]['trial_id']} "
                                      "beat the defaults: val_auc")
    assert best["stopped_by"] == "trials" and best["metric"] == "val_auc"
    assert best["from_tuning"] and set(best["from_tuning"]) <= set(best["values"])
    logs = Path(run.path, "tensorboard", "02_tune")
    assert sorted(p.name for p in logs.iterdir()) == [f"trial_{i}" for i in range(4)]
    for trial in trials:  # one HParams session per trial, with the trial's values
        group, values = _hparams_session(logs / f"trial_{trial['trial_id']}")
        assert group == f"02_tune/trial_{trial['trial_id']}"
        assert values["learning_rate"] == pytest.approx(trial["values"]["learning_rate"])
        assert values["hidden_units"] == trial["values"]["hidden_units"]

    trained = train_step(run, **SMALL)
    tuning = trained.info["tuning"]
    assert tuning["source"] == "02_tune/best_hparams" and tuning["improved"] is True
    assert set(tuning["values"]) == set(best["from_tuning"])
    metrics = run.record().steps["02_train"].metrics
    assert metrics["tuned"] == sorted(best["from_tuning"])
    assert metrics["val_auc"] == pytest.approx(best["score"], abs=1e-6)  # the same training
    assert run.record().steps["02_train"].inputs["02_tune/best_hparams"]
    assert "Best so far" in result.html()

    # an unchanged search (data, space, budget) reloads every trial and trains none
    again = Step(run, "02_tune_again", "compute")
    reused = tune(again, params, on_trial=lambda so_far: pytest.fail("a trial was trained"))
    again.finish()
    record = run.record()
    assert record.steps["02_tune_again"].metrics["trials_reloaded"] == 4
    assert record.artifact("02_tune_again", "best_hparams").sha256 == \
        record.artifact("02_tune", "best_hparams").sha256
    assert reused.trials == trials


def test_the_minutes_budget_stops_the_search(run) -> None:
    step = Step(run, "02_tune_quick", "compute")
    result = tune(step, TuneParams(**SMALL, step="02_tune_quick", algorithm="bayesian",
                                   max_trials=5, max_minutes=0.005))
    assert result.best["stopped_by"] == "minutes" and len(result.trials) == 1
    assert result.best["improved"] is None  # nothing to compare the defaults with
    assert "02_train keeps its own values" in result.best["verdict"]


def _hparams_session(folder: Path) -> tuple[str, dict]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    meta = events.SummaryMetadata("_hparams_/session_start_info")
    start = plugin_data_pb2.HParamsPluginData.FromString(meta.plugin_data.content) \
        .session_start_info
    values = {k: (v.string_value if v.HasField("string_value") else v.number_value)
              for k, v in start.hparams.items()}
    return start.group_name, values
