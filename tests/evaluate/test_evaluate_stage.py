"""Stage 03 in-process on real trained models: artifacts, gate, the baseline (latest blessed
run, re-evaluated on the same rows), a crippled model refused with its failing checks named."""

from __future__ import annotations

import pytest

from workbench.errors import ConfigError
from workbench.runs.step import Step

from ..train.helpers import data_run, evaluate_step, make_project, train_step

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("evaluate") / "project")


@pytest.fixture(scope="module")
def first(store):
    run = data_run(store, "fraud", rows=3000)
    train_step(run)
    return run, evaluate_step(run)


@pytest.fixture(scope="module")
def crippled(store, first):
    run = data_run(store, "fraud", rows=3000)
    train_step(run, cripple="shuffle_labels")
    return run, evaluate_step(run)


def test_first_run_is_blessed_without_a_baseline(first) -> None:
    run, result = first
    assert result.blessed and result.blessing["baseline"] is None
    checks = result.blessing["checks"]
    assert {(c["metric"], c["kind"]) for c in checks} == {("auc", "value"), ("auc", "change")}
    assert next(c for c in checks if c["kind"] == "change")["skipped"]
    record = run.read()["steps"]["03_evaluate"]
    assert record["gates"]["blessing"]["passed"] and record["state"] == "succeeded"
    assert record["metrics"]["blessed"] is True and record["metrics"]["auc"] > 0.6
    ev = result.evaluation
    assert ev["slice_features"] == ["merchant_category", "country", "channel", "device"]
    assert sum(s["count"] for s in ev["slices"] if s["feature"] == "channel") == ev["rows"]
    assert ev["curves"]["roc"] and ev["confusion_matrix"]["labels"] == ["0", "1"]


def test_view_mode_loads_what_compute_mode_saved(first) -> None:
    from workbench.evaluate.stage import evaluate

    run, result = first
    again = evaluate(Step(run, "03_evaluate", "view"))
    assert again.evaluation == result.evaluation and again.blessing == result.blessing


def test_a_crippled_model_is_not_blessed_and_the_failing_checks_are_named(first,
                                                                          crippled) -> None:
    base_run, base = first
    run, result = crippled
    assert not result.blessed
    assert result.baseline_run == base_run.id
    assert result.blessing["baseline"]["model_sha256"] == base.blessing["candidate"][
        "model_sha256"]
    failed = {(c["metric"], c["kind"]) for c in result.failed_checks}
    assert ("auc", "change") in failed
    change = next(c for c in result.failed_checks if c["kind"] == "change")
    assert change["baseline"] == pytest.approx(base.evaluation["overall"]["metrics"]["auc"])
    assert change["diff"] < -0.02
    gate = run.read()["steps"]["03_evaluate"]["gates"]["blessing"]
    assert not gate["passed"] and any("auc is" in r and "baseline" in r
                                      for r in gate["reasons"])
    assert run.read()["steps"]["03_evaluate"]["state"] == "gate_failed"
    # the baseline's metrics come from running its model on this run's eval rows
    assert result.evaluation["baseline"]["overall"]["count"] == result.evaluation["rows"]


def test_the_baseline_is_the_latest_blessed_run(store, first, crippled) -> None:
    base_run, _ = first
    run = data_run(store, "fraud", rows=3000)
    train_step(run, epochs=2)
    result = evaluate_step(run)
    assert result.baseline_run == base_run.id, "the crippled run is skipped"

    def hashes() -> dict:
        return {n: a["sha256"] for n, a in run.read()["steps"]["03_evaluate"]["artifacts"].items()}

    before = hashes()
    evaluate_step(run)
    assert hashes() == before, "same model, data and baseline: the same bytes (04 is reused)"
    assert evaluate_step(run, baseline="none").blessing["baseline"] is None
    with pytest.raises(ConfigError, match=f"run {crippled[0].id} cannot be the baseline"):
        evaluate_step(run, baseline=crippled[0].id)


def test_unknown_metric_in_thresholds_lists_the_metrics(first) -> None:
    run, _ = first
    with pytest.raises(ConfigError, match="names metric 'roc_auc'") as err:
        evaluate_step(run, thresholds={"roc_auc": {"lower": 0.5}})
    assert "auc, pr_auc, accuracy" in err.value.hint


def test_multiclass_skips_baselines_of_another_label(store, first) -> None:
    run = data_run(store, "wine")
    train_step(run, epochs=5, batch_size=16)
    result = evaluate_step(run, top_k=2)
    ev = result.evaluation
    assert ev["task"] == "multiclass" and ev["classes"] == [0, 1, 2]
    assert len(ev["confusion_matrix"]["matrix"]) == 3
    assert "top_k_accuracy" in ev["overall"]["metrics"]
    assert result.blessing["baseline"] is None
    assert ev["slice_features"] == ["alcohol", "malic_acid"], "numeric slices without categories"


def test_the_version_serving_as_stable_can_be_the_baseline(store, first, crippled,
                                                          monkeypatch) -> None:
    """Whatever serves as stable is the baseline, even a model that was not blessed."""
    import json

    from workbench.serving.config import VersionPolicy
    from workbench.serving.repository import Repository

    root = store.root.parent
    monkeypatch.setenv("WORKBENCH_HOME", str(root))
    repo = Repository(root / "serving")
    repo.init()
    for version, run in ((1, first[0]), (2, crippled[0])):
        meta = repo.version_dir("fraud", version) / "assets.extra" / "workbench_metadata.json"
        meta.parent.mkdir(parents=True)
        meta.write_text(json.dumps({"run_id": run.id}))
    repo.set_model("fraud", policy=VersionPolicy("all"), labels={"stable": 2})
    run = data_run(store, "fraud", rows=3000)
    train_step(run, epochs=2)
    assert evaluate_step(run, baseline="stable").baseline_run == crippled[0].id
    assert evaluate_step(run, baseline="stable:fraud").baseline_run == crippled[0].id
    with pytest.raises(ConfigError, match="'nope' has no version labelled stable"):
        evaluate_step(run, baseline="stable:nope")
