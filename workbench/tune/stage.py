"""The optional ``02_tune`` stage: search 02_train's hyperparameters before it trains.

In compute mode :func:`tune` prepares the training rows once (stage 01's split, the feature
plan, the labels, exactly as 02_train does), runs the search (:mod:`workbench.tune.search`;
each trial's TensorBoard logs, with its values on the HParams dashboard, in
``tensorboard/02_tune/trial_<id>``; the oracle's state in ``checkpoints/02_tune/<key>``, so
``workbench run --resume`` continues an interrupted search from its finished trials) and saves:

* ``best_hparams`` (json): the values 02_train should use, which of them came from tuning,
  the best trial's and the defaults' validation scores, and whether tuning beat the defaults
  (when it did not, the values are the defaults and the record says so);
* ``trials`` (json): every trial with its values, score, epochs, seconds and status.

:func:`apply_tuning` is what 02_train calls: the run's ``best_hparams``, when present, replace
its values, and the run records which.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from workbench.errors import ParameterError
from workbench.runs.step import Step
from workbench.tune.params import TUNE, TuneParams
from workbench.tune.search import SearchResult, TrialRecord, run_search
from workbench.tune.space import TRAINER_PARAMETERS, search_space, train_values

__all__ = ["SEARCHES", "TuneParams", "TuneResult", "apply_tuning", "tune", "work"]

#: where searches keep their state, in the run store's folder (``runs/.searches/<key>``)
SEARCHES = ".searches"

log = logging.getLogger(__name__)


@dataclass
class TuneResult:
    best: dict[str, Any]
    trials: list[dict[str, Any]]

    def html(self) -> str:
        from workbench.tune.view import tuning_html

        return tuning_html(self.best, self.trials)


def _key(step: Step, params: TuneParams, dims: list[Any]) -> str:
    """The search's identity: data, space and budget (a new key starts a new search)."""
    from workbench.stages import DATA_VALIDATION

    material = {"data": {ref: step.artifact(f"{DATA_VALIDATION}/{ref}").sha256
                         for ref in ("train", "stats_train", "schema", "data_card")},
                "space": [asdict(d) for d in dims], "params": params.values()}
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()
                          ).hexdigest()[:16]


@dataclass
class _Search:
    """What the search needs, prepared once: the space, the trainer of one trial, where the
    oracle keeps its state."""

    dims: list[Any]
    trainer: Callable[[dict[str, Any], dict[str, Any], int, str], dict[str, Any]]
    task: str
    epochs: int
    folder: Any


def _prepare(step: Step, params: TuneParams) -> _Search:
    from workbench.train.data import check_finite, encode_labels, feature_arrays, label_classes
    from workbench.train.params import TrainParams
    from workbench.train.stage import load_inputs, positive_class
    from workbench.train.trainer import fit

    base = params.train_values()
    dims = search_space(params.builder, params.search_space, base)
    inputs = load_inputs(step, TrainParams(**base))
    card = inputs.card
    task, label = card["task"], card["label"]
    classes = label_classes(inputs.table, label, task,
                            positive_class=positive_class(TrainParams(**base), card))
    y = encode_labels(inputs.table, label, task, classes)
    x = feature_arrays(inputs.table, inputs.plan)
    check_finite(x, inputs.plan)
    logs = step.run.path / "tensorboard" / step.name

    def trainer(fields: dict[str, Any], options: dict[str, Any], trial_epochs: int,
                trial_id: str) -> dict[str, Any]:
        config = TrainParams(**{**base, **fields, "epochs": trial_epochs, "histogram_freq": 0,
                                "tensorboard": False,
                                "builder_options": {**base["builder_options"], **options}})
        result = fit(inputs.plan, x, y, task=task,
                     n_outputs=len(classes) if task == "multiclass" else 1, config=config,
                     log_dir=logs / f"trial_{trial_id}", label_stats=inputs.label_stats,
                     hparams_trial=f"{step.name}/trial_{trial_id}")
        return result.history

    # in the run store, not in one run: an unchanged search (data, space, budget) in a later
    # run reloads every finished trial and trains none
    folder = step.store.root / SEARCHES / _key(step, params, dims)
    return _Search(dims, trainer, task, params.trial_epochs or params.epochs, folder)


def _search(prepared: _Search, params: TuneParams,
            on_trial: Callable[[SearchResult], None] | None) -> SearchResult:
    return run_search(prepared.trainer, prepared.dims, task=prepared.task,
                      algorithm=params.algorithm, max_trials=params.max_trials,
                      max_minutes=params.max_minutes, epochs=prepared.epochs,
                      directory=prepared.folder, seed=params.seed, on_trial=on_trial)


def tune(step: Step, params: TuneParams | None = None, *,
         on_trial: Callable[[SearchResult], None] | None = None) -> TuneResult:
    """Search (compute mode) or load (view mode). ``on_trial`` gets the search so far after
    every trial (the live view). With KerasTuner's chief/worker variables set, this process
    is the chief: it serves the oracle while :func:`work` processes train the trials."""
    if not step.computing:
        return TuneResult(step.load("best_hparams"), step.load("trials"))
    params = params or TuneParams()
    prepared = _prepare(step, params)
    search = _search(prepared, params, on_trial)
    best = _best_record(search, params.train_values())
    trials = [asdict(t) for t in search.trials]
    step.save("best_hparams", best)
    step.save("trials", trials)
    step.log_metrics(trials_run=len(trials), best_score=best["score"],
                     default_score=best["default_score"], improved=best["improved"],
                     search_seconds=round(search.seconds, 1), stopped_by=search.stopped_by,
                     trials_reloaded=search.resumed, search=str(prepared.folder.name))
    return TuneResult(best, trials)


def work(step: Step, params: TuneParams) -> int:
    """A worker of a distributed search (``KERASTUNER_TUNER_ID=tuner0`` …): train the trials
    the chief's oracle hands out until it stops; returns how many this worker trained."""
    from workbench.tune.search import role

    if role() != "worker":
        raise ParameterError("this process is not a worker of a distributed search",
                             hint="set KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT and "
                             "KERASTUNER_TUNER_ID (not 'chief') as the chief's are",
                             parameter="KERASTUNER_TUNER_ID")
    result = _search(_prepare(step, params), params, None)
    return len(result.trials) - result.resumed


def _best_record(search: SearchResult, base: dict[str, Any]) -> dict[str, Any]:
    best: TrialRecord | None = search.best
    default: TrialRecord | None = search.default
    improved = search.improved
    chosen = best if improved or default is None else default
    fields, options = train_values(chosen.values) if chosen else ({}, {})
    values = dict(fields)
    if options:
        values["builder_options"] = {**base["builder_options"], **options}
    from_tuning = sorted(k for k, v in {**fields, **options}.items()
                         if (base.get(k) if k in TRAINER_PARAMETERS
                             else base["builder_options"].get(k)) != v) if improved else []
    if improved is None and default is not None:
        verdict = (f"only the defaults were trained before the {search.stopped_by} budget ran "
                   "out: 02_train keeps its own values")
    elif improved is None:
        verdict = "no trial finished with a score: 02_train keeps its own values"
    elif improved:
        verdict = (f"trial {best.trial_id} beat the defaults: val_{search.metric} "
                   f"{best.score:.4f} against {default.score:.4f}")
    else:
        verdict = (f"no trial beat the defaults (val_{search.metric} {default.score:.4f}; best "
                   f"other trial {_second(search):.4f}): 02_train keeps its own values")
    return {**search.to_dict(), "values": values if chosen else {},
            "from_tuning": from_tuning, "score": chosen.score if chosen else None,
            "default_score": default.score if default else None, "verdict": verdict}


def _second(search: SearchResult) -> float:
    others = [t.score for t in search.trials if not t.defaults and t.score is not None]
    if not others:
        return float("nan")
    return max(others) if search.higher_is_better else min(others)


def apply_tuning(step: Step, params: Any) -> tuple[Any, dict[str, Any] | None]:
    """``params`` (TrainParams) with the run's tuned values, and what was taken from tuning
    (None when the run has no 02_tune)."""
    ref = f"{TUNE}/best_hparams"
    if not step.has(ref):
        return params, None
    best = step.load(ref)
    values = {k: v for k, v in (best.get("values") or {}).items()
              if k in type(params).parameters()}
    tuned = {k: values[k] for k in best.get("from_tuning", []) if k in values}
    for k in best.get("from_tuning", []):
        if k not in values and k in (values.get("builder_options") or {}):
            tuned[k] = values["builder_options"][k]
    if values:
        params = dataclasses.replace(params, **values)
    log.info("02_train uses the tuned values %s", tuned)
    return params, {"source": ref, "values": tuned, "improved": best.get("improved"),
                    "score": best.get("score"), "default_score": best.get("default_score"),
                    "metric": best.get("metric")}


def train_cache_key(run: Any, stage: str, parameters: dict[str, Any]) -> str:
    """02_train's fingerprint hook: the tuned values it will use (empty without 02_tune), so a
    02_train trained without them is never reused for a run that tuned."""
    art = run.record().artifact(TUNE, "best_hparams")
    return art.sha256 if art is not None else ""
