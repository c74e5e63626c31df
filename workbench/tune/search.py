"""The search: KerasTuner's oracles (Hyperband, Bayesian optimisation, random search) choosing
values, the workbench's own trainer training each trial.

A trial is exactly what ``02_train`` does with those values (:func:`workbench.train.trainer.fit`:
the same preprocessing, builder, validation rows and early stopping), scored by the blessing's
metric on the validation rows at the epoch whose weights the model keeps. Trial 0 is always
the defaults (02_train's own values), so the result can say honestly whether tuning beat them.
The oracle's state lives in a project folder: a search started again on the same folder reloads
its finished trials and continues (KerasTuner's ``overwrite=False``). The budget is a number of
trials and a number of minutes (the finished trials' time counts when resuming); whichever
ends first stops the search.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.errors import ParameterError
from workbench.tune.space import Dimension, train_values

__all__ = ["ALGORITHMS", "SearchResult", "TrialRecord", "objective_for", "run_search"]

log = logging.getLogger(__name__)

ALGORITHMS = ("hyperband", "bayesian", "random")
#: the blessing's metric per task (stage 03 blesses on it) and whether higher is better
OBJECTIVES = {"binary": ("auc", True), "multiclass": ("accuracy", True),
              "regression": ("rmse", False)}
TRIALS_LOG = "workbench_trials.jsonl"


@dataclass
class TrialRecord:
    trial_id: str
    values: dict[str, Any]
    score: float | None
    epochs: int
    seconds: float
    status: str = "COMPLETED"
    defaults: bool = False
    message: str = ""


@dataclass
class SearchResult:
    metric: str
    higher_is_better: bool
    algorithm: str
    trials: list[TrialRecord]
    stopped_by: str  # "trials", "minutes" or "algorithm"
    seconds: float
    resumed: int = 0  # trials reloaded from an earlier, interrupted search
    dims: list[Dimension] = field(default_factory=list)

    def _scored(self) -> list[TrialRecord]:
        return [t for t in self.trials if t.score is not None and np.isfinite(t.score)]

    @property
    def best(self) -> TrialRecord | None:
        scored = self._scored()
        if not scored:
            return None
        pick = max if self.higher_is_better else min
        return pick(scored, key=lambda t: t.score)

    @property
    def default(self) -> TrialRecord | None:
        return next((t for t in self.trials if t.defaults and t.score is not None), None)

    @property
    def improved(self) -> bool | None:
        """Whether the best trial beat the defaults (None when the defaults have no score)."""
        best, default = self.best, self.default
        others = [t for t in self._scored() if not t.defaults]
        if best is None or default is None or not others:
            return None
        return best.score > default.score if self.higher_is_better \
            else best.score < default.score

    def to_dict(self) -> dict[str, Any]:
        best, default = self.best, self.default
        # no wall-clock time or resume count here: a reloaded search writes the same bytes,
        # so 02_train after it is reused from the cache (both are metrics of the step)
        return {"metric": f"val_{self.metric}", "higher_is_better": self.higher_is_better,
                "algorithm": self.algorithm, "stopped_by": self.stopped_by,
                "trials_run": len(self.trials),
                "trial_seconds": round(sum(t.seconds for t in self.trials), 3),
                "best": asdict(best) if best else None,
                "default": asdict(default) if default else None,
                "improved": self.improved,
                "space": {d.name: d.describe() for d in self.dims}}


def objective_for(task: str) -> tuple[str, bool]:
    return OBJECTIVES[task]


def _oracle(algorithm: str, objective: Any, *, max_trials: int, epochs: int, seed: int,
            out_of_time: Callable[[], bool]) -> Any:
    import keras_tuner as kt

    if algorithm == "random":
        base = kt.oracles.RandomSearchOracle
        kwargs = {"max_trials": max_trials}
    elif algorithm == "bayesian":
        base = kt.oracles.BayesianOptimizationOracle
        kwargs = {"max_trials": max_trials, "num_initial_points": min(3, max_trials)}
    else:
        base = kt.oracles.HyperbandOracle
        kwargs = {"max_epochs": max(epochs, 2), "factor": 3, "hyperband_iterations": 1}

    class DefaultsFirst(base):  # type: ignore[misc, valid-type]
        """Trial 0 trains 02_train's own values, so the search can compare with them."""

        def populate_space(self, trial_id: str) -> dict[str, Any]:
            if out_of_time():  # the minutes budget, checked where trials are made (the chief)
                return {"status": "STOPPED", "values": None}
            response = super().populate_space(trial_id)
            if not self.trials and response.get("status") == "RUNNING":
                defaults = self.hyperparameters.values
                response["values"] = {k: defaults.get(k, v) if not k.startswith("tuner/")
                                      else v for k, v in response["values"].items()}
            return response

    oracle = DefaultsFirst(objective=objective, seed=seed, max_retries_per_trial=0,
                           max_consecutive_failed_trials=3, **kwargs)
    oracle.max_trials = max_trials  # Hyperband too: the trial budget applies to every algorithm
    return oracle


Trainer = Callable[[dict[str, Any], dict[str, Any], int, str], dict[str, Any]]


def run_search(trainer: Trainer, dims: Sequence[Dimension], *, task: str, algorithm: str,
               max_trials: int, max_minutes: float, epochs: int, directory: Path, seed: int,
               on_trial: Callable[[SearchResult], None] | None = None) -> SearchResult:
    """Search ``dims``. ``trainer(fields, options, epochs, trial_id)`` trains one trial (the
    TrainParams fields and builder options to override) and returns its history."""
    import keras_tuner as kt

    if algorithm not in ALGORITHMS:
        raise ParameterError(f"unknown search algorithm '{algorithm}'",
                             hint=f"use one of: {', '.join(ALGORITHMS)}", parameter="algorithm")
    metric, higher = objective_for(task)
    objective = kt.Objective(f"val_{metric}", "max" if higher else "min")
    started = time.monotonic()
    clock = {"out": False}

    def out_of_time() -> bool:
        clock["out"] = clock["out"] or spent_before + time.monotonic() - started \
            >= max_minutes * 60
        return clock["out"]

    oracle = _oracle(algorithm, objective, max_trials=max_trials, epochs=epochs, seed=seed,
                     out_of_time=out_of_time)
    hp = kt.HyperParameters()
    for d in dims:
        d.declare(hp)
    defaults = dict(hp.values)  # the declared defaults: 02_train's own values
    directory.mkdir(parents=True, exist_ok=True)
    trials_log = directory / TRIALS_LOG
    done = _read_log(trials_log)
    result = SearchResult(metric, higher, algorithm, list(done), "algorithm", 0.0,
                          resumed=len(done), dims=list(dims))
    spent_before = sum(t.seconds for t in done)

    class StageTuner(kt.Tuner):
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
            values = dict(trial.hyperparameters.values)
            finished = next((t for t in done if t.trial_id == trial.trial_id
                             and t.status == "COMPLETED" and t.score is not None), None)
            if finished is not None:  # trained before an interruption: not trained again
                return {f"val_{metric}": finished.score}
            fields, options = train_values(values)
            run_epochs = int(values.get("tuner/epochs", epochs))
            t0 = time.perf_counter()
            record = TrialRecord(trial.trial_id, {k: v for k, v in values.items()
                                                  if not k.startswith("tuner/")}, None,
                                 run_epochs, 0.0)
            record.defaults = record.values == defaults
            try:
                history = trainer(fields, options, run_epochs, trial.trial_id)
                record.score = _score(history, metric)
                if record.score is None:
                    raise kt.errors.FailedTrialError(f"trial {trial.trial_id} reported no "
                                                     f"val_{metric}")
                return {f"val_{metric}": record.score}
            except Exception as err:
                record.status = "FAILED"
                record.message = f"{type(err).__name__}: {err}"[:300]
                log.warning("trial %s failed: %s", trial.trial_id, record.message)
                raise kt.errors.FailedTrialError(record.message) from err
            finally:
                record.seconds = round(time.perf_counter() - t0, 3)
                result.trials.append(record)
                # one line per trial, appended whole: workers of a distributed search share it
                with open(trials_log, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(asdict(record), default=str) + "\n")
                    fh.flush()
                    os.fsync(fh.fileno())
                if on_trial is not None:
                    on_trial(result)

    said = io.StringIO()
    with contextlib.redirect_stdout(said):  # KerasTuner prints "Reloading Tuner from ..."
        tuner = StageTuner(oracle=oracle, directory=str(directory), project_name="search",
                           overwrite=False)
    if said.getvalue().strip():
        log.info("%s", said.getvalue().strip())
    tuner.oracle.update_space(hp)
    tuner.search(verbose=0)
    if role() == "chief":  # the workers trained the trials: their records are in the log
        result.trials = _read_log(trials_log)
    result.seconds = spent_before + time.monotonic() - started
    n = len({t.trial_id for t in result.trials})
    result.stopped_by = "minutes" if clock["out"] else "trials" if n >= max_trials \
        else "algorithm"
    return result


def role() -> str:
    """``"chief"`` or ``"worker"`` of a distributed search (KerasTuner's
    ``KERASTUNER_ORACLE_IP`` / ``_PORT`` / ``KERASTUNER_TUNER_ID``), else ``"single"``."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return "single"
    return "chief" if "chief" in os.environ.get("KERASTUNER_TUNER_ID", "") else "worker"


def _read_log(path: Path) -> list[TrialRecord]:
    """The finished trials of the log, the last record of each trial id, in trial order."""
    if not path.exists():
        return []
    records: dict[str, TrialRecord] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = TrialRecord(**json.loads(line))
            records[record.trial_id] = record
    return sorted(records.values(), key=lambda t: t.trial_id.zfill(12))


def _score(history: Mapping[str, Any], metric: str) -> float | None:
    """The validation metric at the epoch whose weights the model keeps."""
    values = history.get("metrics", {}).get(f"val_{metric}") or []
    epochs = history.get("epochs") or []
    best = history.get("best_epoch")
    if best in epochs and values[epochs.index(best)] is not None:
        return float(values[epochs.index(best)])
    finite = [v for v in values if v is not None]
    return float(finite[-1]) if finite else None
