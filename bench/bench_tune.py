"""Tuning overhead: a 10-trial search of 2 epochs each against the same ten trainings without
the tuner.

A throw-away run whose stage 01 ingested 20k fraud rows (the default dataset). The search is
the ``02_tune`` stage function (random search, 10 trials, 2 epochs, seed 0): preparing the rows
once, KerasTuner's oracle, ten trials trained by 02_train's trainer, the trials' TensorBoard
logs and the oracle's state on disk, the artifacts. The peer prepares the rows the same way and
calls the trainer (``workbench.train.trainer.fit``, what 02_train does: preprocessing, model,
``model.fit``, TensorBoard logs) ten times with the ten configurations the search tried, so the
ratio is what the tuner adds. Target: <= 1.2x.

Run: ``.venv/bin/python -m bench.bench_tune``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import workbench  # noqa: F401 - before TensorFlow
from bench._common import emit

TRIALS = 10
EPOCHS = 2
ROWS = 20_000


def main() -> None:
    from workbench.data.params import DataValidationParams
    from workbench.data.stage import ingest, validate
    from workbench.runs.step import Step
    from workbench.runs.store import RunStore
    from workbench.train.data import check_finite, encode_labels, feature_arrays, label_classes
    from workbench.train.params import TrainParams
    from workbench.train.stage import load_inputs, positive_class
    from workbench.train.trainer import fit
    from workbench.tune.space import train_values
    from workbench.tune.stage import TuneParams, tune

    with tempfile.TemporaryDirectory(prefix="bench-tune-") as tmp:
        store = RunStore(Path(tmp) / "runs")
        run = store.create(state="interactive")
        step = Step(run, "01_data_validation", "compute")
        validate(step, ingest(step, DataValidationParams(rows=ROWS)))
        run.update_step("01_data_validation", state="succeeded")

        params = TuneParams(epochs=EPOCHS, max_trials=TRIALS, algorithm="random", seed=0,
                            max_minutes=60.0)
        t0 = time.perf_counter()
        result = tune(Step(run, "02_tune", "compute"), params)
        search_s = time.perf_counter() - t0
        assert len(result.trials) == TRIALS, result.best

        t0 = time.perf_counter()
        step = Step(run, "02_plain", "compute")
        base = params.train_values()
        inputs = load_inputs(step, TrainParams(**base))
        card = inputs.card
        classes = label_classes(inputs.table, card["label"], card["task"],
                                positive_class=positive_class(TrainParams(**base), card))
        y = encode_labels(inputs.table, card["label"], card["task"], classes)
        x = feature_arrays(inputs.table, inputs.plan)
        check_finite(x, inputs.plan)
        for trial in result.trials:
            fields, options = train_values(trial["values"])
            config = TrainParams(**{**base, **fields, "epochs": EPOCHS, "histogram_freq": 0,
                                    "builder_options": options})
            fit(inputs.plan, x, y, task=card["task"], n_outputs=1, config=config,
                log_dir=step.tensorboard_dir / f"fit_{trial['trial_id']}",
                label_stats=inputs.label_stats)
        plain_s = time.perf_counter() - t0
        emit("tune_10x2", "wall_s", workbench=search_s, peer=plain_s,
             peer_name="the same 10 configurations trained by 02_train's trainer in a loop",
             target="<= 1.2x", ok=search_s <= 1.2 * plain_s, trials=TRIALS, epochs=EPOCHS,
             rows=ROWS, improved=result.best["improved"], best=result.best["score"],
             default=result.best["default_score"])


if __name__ == "__main__":
    main()
