"""TFMA-style thresholds: parsing, value and change checks, messages."""

from __future__ import annotations

import pytest

from workbench.errors import ConfigError
from workbench.evaluate.thresholds import (
    check_thresholds,
    default_thresholds,
    load_thresholds,
)

NAMES = ["auc", "accuracy", "log_loss"]


def _check(spec, candidate, baseline=None, **kw):
    return check_thresholds(load_thresholds(spec, **kw), candidate, baseline,
                            metric_names=NAMES)


def test_value_thresholds_lower_and_upper() -> None:
    checks = _check({"auc": {"lower": 0.7}, "log_loss": {"upper": 0.3}},
                    {"overall": {"auc": 0.65, "log_loss": 0.2}})
    by = {c["metric"]: c for c in checks}
    assert not by["auc"]["passed"] and by["log_loss"]["passed"]
    assert by["auc"]["reason"] == "auc is 0.65; it must be >= 0.7"


@pytest.mark.parametrize("direction, absolute, candidate, baseline, passed", [
    ("higher", -0.01, 0.795, 0.80, True),   # dropped 0.005, 0.01 allowed
    ("higher", -0.01, 0.78, 0.80, False),   # dropped 0.02
    ("higher", 0.0, 0.80, 0.80, True),      # not worse
    ("lower", 0.01, 0.305, 0.30, True),     # loss grew 0.005, 0.01 allowed
    ("lower", 0.0, 0.31, 0.30, False),
])
def test_change_thresholds_absolute(direction, absolute, candidate, baseline, passed) -> None:
    metric = "auc" if direction == "higher" else "log_loss"
    checks = _check({metric: {"change": {"direction": direction, "absolute": absolute}}},
                    {"overall": {metric: candidate}}, {"overall": {metric: baseline}})
    assert [c["passed"] for c in checks] == [passed]
    assert checks[0]["diff"] == pytest.approx(candidate - baseline)


def test_relative_change_and_direction_from_the_metric() -> None:
    checks = _check({"log_loss": {"change": {"relative": 0.05}}},
                    {"overall": {"log_loss": 0.33}}, {"overall": {"log_loss": 0.30}})
    assert checks[0]["direction"] == "lower" and not checks[0]["passed"]
    assert "+10.00%" in checks[0]["reason"] and "lower is better" in checks[0]["reason"]


def test_change_thresholds_are_skipped_without_a_baseline() -> None:
    checks = _check({"auc": {"lower": 0.5, "change": {"absolute": -0.01}}},
                    {"overall": {"auc": 0.9}}, None)
    change = [c for c in checks if c["kind"] == "change"][0]
    assert change["passed"] and change["skipped"] and "no baseline" in change["reason"]


def test_per_slice_thresholds() -> None:
    candidate = {"overall": {"auc": 0.9}, "country=DE": {"auc": 0.85},
                 "country=FR": {"auc": 0.6}}
    checks = _check({"auc": {"lower": 0.7, "slices": ["*"]}}, candidate)
    assert {c["slice"]: c["passed"] for c in checks} == {
        "overall": True, "country=DE": True, "country=FR": False}
    failed = [c for c in checks if not c["passed"]][0]
    assert failed["reason"].startswith("auc on slice country=FR is 0.6")
    with pytest.raises(ConfigError, match="names slice 'country=XX'") as err:
        _check([{"metric": "auc", "slice": "country=XX", "lower": 0.5}], candidate)
    assert "country=DE" in err.value.hint


def test_a_threshold_on_an_unknown_metric_lists_the_ones_that_exist() -> None:
    with pytest.raises(ConfigError, match="names metric 'aucc'") as err:
        _check({"aucc": {"lower": 0.7}}, {"overall": {"auc": 0.9}})
    assert err.value.hint == "metrics: auc, accuracy, log_loss"


@pytest.mark.parametrize("spec, message", [
    ({"auc": 0.7}, "must be a mapping"),
    ({"auc": {"lowr": 0.7}}, "unknown key\\(s\\) lowr"),
    ({"auc": {"lower": "high"}}, "must be a number"),
    ({"auc": {}}, "sets no bound"),
    ({"auc": {"change": {"direction": "up", "absolute": 0}}}, "direction: higher or lower"),
    ({"auc": {"change": {"direction": "higher"}}}, "neither absolute nor relative"),
    ([{"lower": 0.7}], "needs a 'metric' key"),
])
def test_malformed_thresholds_say_what_is_wrong(spec, message) -> None:
    with pytest.raises(ConfigError, match=message):
        load_thresholds(spec)


def test_thresholds_from_a_yaml_file(tmp_path) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text("thresholds:\n  auc:\n    lower: 0.8\n    change: {direction: higher, "
                    "absolute: -0.02}\n")
    (t,) = load_thresholds({}, file=path)
    assert (t.metric, t.lower, t.direction, t.absolute) == ("auc", 0.8, "higher", -0.02)
    path.write_text("auc: [unclosed\n")
    with pytest.raises(ConfigError, match="thresholds.yaml is not valid YAML at line"):
        load_thresholds({}, file=path)


def test_default_thresholds_per_task() -> None:
    assert default_thresholds("binary")["auc"]["lower"] == 0.6
    assert default_thresholds("multiclass", 3)["accuracy"]["lower"] == 0.5
    assert "rmse" in default_thresholds("regression")
    for task, n in (("binary", 2), ("multiclass", 3), ("regression", 0)):
        assert load_thresholds(default_thresholds(task, n))
