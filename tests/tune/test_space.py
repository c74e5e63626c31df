"""The search space: builders' hyperparameters, ranges from search_space, and refused input."""

from __future__ import annotations

import pytest

from workbench.errors import ParameterError
from workbench.train.params import TrainParams
from workbench.tune.params import TuneParams
from workbench.tune.space import search_space, train_values
from workbench.tune.view import tuning_html

DEFAULTS = TrainParams().values()


def _by_name(dims):
    return {d.name: d for d in dims}


def test_the_dnn_space_has_02_train_values_as_defaults() -> None:
    dims = _by_name(search_space("dnn", {}, DEFAULTS))
    assert set(dims) == {"hidden_units", "learning_rate", "dropout", "l2", "embedding_dim",
                         "batch_size"}
    assert dims["hidden_units"].default == "64,32" and dims["learning_rate"].default == 0.003
    assert dims["learning_rate"].log and dims["learning_rate"].describe() == \
        "0.0001 to 0.03, log scale"
    assert set(_by_name(search_space("linear", {}, DEFAULTS))) == {"learning_rate", "l2",
                                                                    "batch_size"}
    # 02_train's own value is always a candidate, even outside the shipped choices
    odd = _by_name(search_space("dnn", {}, {**DEFAULTS, "batch_size": 100}))
    assert odd["batch_size"].values[0] == 100 and odd["batch_size"].default == 100


def test_search_space_changes_adds_and_leaves_out_ranges() -> None:
    dims = _by_name(search_space("dnn", {
        "learning_rate": {"min": 0.001, "max": 0.1},
        "dropout": None,
        "batch_size": {"values": [32, 64]},
        "embedding_dim": {"type": "int", "min": 2, "max": 8, "step": 2},
    }, DEFAULTS))
    assert "dropout" not in dims
    assert (dims["learning_rate"].min, dims["learning_rate"].max) == (0.001, 0.1)
    assert dims["batch_size"].values == (128, 32, 64)
    assert dims["embedding_dim"].kind == "int" and dims["embedding_dim"].step == 2
    fields, options = train_values({"hidden_units": "128,64", "dropout": 0.2, "units": 24,
                                    "tuner/epochs": 2})
    assert fields == {"hidden_units": [128, 64], "dropout": 0.2} and options == {"units": 24}


@pytest.mark.parametrize(("override", "message", "hint"), [
    ({"dropout": {"min": 0.5, "max": 0.1}}, "hyperparameter 'dropout' has min 0.5 > max 0.1",
     "swap them"),
    ({"learning_rate": {"min": 0.0, "max": 0.1, "log": True}},
     "'learning_rate' is on a log scale from 0: a log scale cannot reach 0 or below",
     "set min above 0 (e.g. 0.0001)"),
    ({"dropout": {"min": 0.0, "max": 0.5, "step": 1.0}}, "has step 1.0, which does not fit",
     "smaller than max - min"),
    ({"batch_size": {"type": "choice", "values": []}}, "'batch_size' lists no values",
     '"values"'),
    ({"dropout": {"min": 0.0, "max": 0.5, "scale": "log"}}, "has unknown keys ['scale']",
     "keys: type"),
    ({"hidden_units": None, "learning_rate": None, "dropout": None, "l2": None,
      "embedding_dim": None, "batch_size": None}, "the search space of builder 'dnn' is empty",
     "keep at least one"),
])
def test_invalid_ranges_are_refused_with_the_fix(override, message, hint) -> None:
    with pytest.raises(ParameterError) as err:
        search_space("dnn", override, DEFAULTS)
    assert message in err.value.message and hint in err.value.hint
    assert err.value.context["parameter"] == "search_space"


def test_a_builder_of_ones_own_declares_its_hyperparameters() -> None:
    dims = _by_name(search_space("tests.tune.builders:towers", {},
                                 {**DEFAULTS, "builder_options": {"layers": 2}}))
    assert {"units", "layers", "learning_rate", "batch_size", "l2"} == set(dims)
    assert dims["units"].default == 16 and dims["layers"].default == 2
    with pytest.raises(ParameterError, match="declares no hyperparameters") as err:
        search_space("tests.tune.builders:plain", {}, DEFAULTS)
    assert "hyperparameters` attribute" in err.value.hint
    assert "spec.options['units']" in err.value.hint


def test_a_budget_of_zero_is_refused() -> None:
    with pytest.raises(ParameterError, match="a budget of zero trials") as err:
        TuneParams(max_trials=0)
    assert "max_trials to 1 or more" in err.value.hint
    with pytest.raises(ParameterError, match="a budget of zero minutes"):
        TuneParams(max_minutes=0.0)
    with pytest.raises(ParameterError, match="hyperband needs at least 2 epochs"):
        TuneParams(algorithm="hyperband", trial_epochs=1)
    assert TuneParams().train_values() == TrainParams().values()


def test_the_view_sorts_trials_by_score_and_plots_each_hyperparameter() -> None:
    trials = [
        {"trial_id": "0", "values": {"dropout": 0.1, "hidden_units": "64,32"}, "score": 0.81,
         "epochs": 2, "seconds": 1.0, "status": "COMPLETED", "defaults": True},
        {"trial_id": "1", "values": {"dropout": 0.3, "hidden_units": "32"}, "score": 0.86,
         "epochs": 2, "seconds": 1.2, "status": "COMPLETED", "defaults": False},
        {"trial_id": "2", "values": {"dropout": 0.0, "hidden_units": "128,64"}, "score": None,
         "epochs": 2, "seconds": 0.3, "status": "FAILED", "defaults": False},
    ]
    page = tuning_html({"metric": "val_auc", "higher_is_better": True, "algorithm": "random",
                        "verdict": "trial 1 beat the defaults", "stopped_by": "trials"}, trials)
    assert "Best so far: trial 1, val_auc <b>0.8600</b>" in page
    assert page.index("<td>1</td>") < page.index("<td>0 (defaults)</td>") \
        < page.index("<td>FAILED</td>")
    assert page.count("<svg") == 2 and "aria-label='dropout against the score'" in page
    assert "1 failed" in page and "trial 1 beat the defaults" in page
