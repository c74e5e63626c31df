"""A training worker for ``strategy="multi_worker"``: ``python -m workbench.train.worker``.

Multi-worker training runs the same training on every worker of the cluster named in
``TF_CONFIG``. Worker 0 (the chief) is usually the ``02_train`` notebook of a run; start every
other worker with this module on its machine, pointing at the same run folder::

    TF_CONFIG='{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]},
                "task": {"type": "worker", "index": 1}}' \\
        python -m workbench.train.worker --run /shared/runs/20260101-120000-ab12

It trains with the parameters the run recorded for its ``02_train`` step (``-p name=value``
overrides them). A chief started this way (index 0) writes ``model.keras`` and
``history.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import WorkbenchError
from workbench.stages import TRAIN

__all__ = ["main", "run_worker"]

log = logging.getLogger(__name__)

STEP = TRAIN


def run_worker(run_dir: str | Path, *, overrides: dict[str, Any] | None = None,
               out: str | Path | None = None) -> dict[str, Any]:
    """Train as one worker of the cluster in ``TF_CONFIG``; returns the history."""
    from workbench.runs.step import Step
    from workbench.runs.store import Run
    from workbench.train.data import label_classes
    from workbench.train.params import TrainParams
    from workbench.train.stage import fit_inputs, load_inputs, positive_class

    run = Run(run_dir)
    record = run.step(STEP)
    values = dict(record.parameters if record else {})
    values.update(overrides or {})
    values["strategy"] = "multi_worker"
    declared = TrainParams.parameters()
    config = TrainParams(**{k: v for k, v in values.items()
                            if k in declared and k not in TrainParams.RESERVED})
    step = Step(run, STEP, "view")  # reads stage 01's artifacts; writes nothing to the run
    inputs = load_inputs(step, config)
    task, label = inputs.card["task"], inputs.card["label"]
    classes = label_classes(inputs.table, label, task,
                            positive_class=positive_class(config, inputs.card))
    result = fit_inputs(inputs, classes, config)  # streams a split of part files
    if out and result.is_chief:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        result.model.save(folder / "model.keras")
        (folder / "history.json").write_text(json.dumps(result.history, indent=2))
    log.info("worker %s finished: %s", result.strategy, result.history.get("epochs_run"))
    return result.history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.train.worker",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="the run folder (shared by all workers)")
    parser.add_argument("--out", help="where the chief writes model.keras and history.json")
    parser.add_argument("-p", dest="params", action="append", default=[],
                        metavar="NAME=VALUE", help="override a training parameter")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    overrides = {}
    for item in args.params:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"-p {item}: write NAME=VALUE")
        overrides[name.strip()] = yaml.safe_load(value) if value.strip() else ""
    try:
        history = run_worker(args.run, overrides=overrides, out=args.out)
    except WorkbenchError as err:
        sys.stderr.write(f"error: {err}\n")
        return err.exit_code
    sys.stdout.write(json.dumps({"epochs_run": history.get("epochs_run")}) + "\n")
    return 0


if __name__ == "__main__":  # the workbench package (and its quiet hook) is imported first
    sys.exit(main())
