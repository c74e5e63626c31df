"""A worker of a distributed search: ``python -m workbench.tune.worker RUN_DIR [-p k=v ...]``.

KerasTuner's chief/worker mode: the chief (the ``02_tune`` step, started with
``KERASTUNER_TUNER_ID=chief``) serves the oracle over gRPC at ``KERASTUNER_ORACLE_IP:PORT``;
each worker (``KERASTUNER_TUNER_ID=tuner0``, ``tuner1`` …, the same IP and port) prepares the
run's training rows itself, asks the oracle for trials and trains them until it says stop.
The parameters are the step's: those the runner recorded for it, then ``-p`` assignments.
The run's folder must be shared (the oracle's state and the trial log live in it).
"""

from __future__ import annotations

import argparse
import logging
import sys

import workbench  # noqa: F401 - quiet TensorFlow before anything imports it

__all__ = ["main"]

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    from workbench.errors import WorkbenchError
    from workbench.pipeline.params import parse_assignments, plain
    from workbench.runs.step import Step
    from workbench.runs.store import Run
    from workbench.tune.params import TUNE, TuneParams
    from workbench.tune.stage import work

    ap = argparse.ArgumentParser(prog="python -m workbench.tune.worker",
                                 description="train trials for a distributed 02_tune search")
    ap.add_argument("run_dir")
    ap.add_argument("--step", default=TUNE)
    ap.add_argument("-p", dest="assign", action="append", default=[],
                    help="parameter assignment, e.g. -p max_trials=20")
    args = ap.parse_args(argv)
    try:
        run = Run(args.run_dir)
        record = run.step(args.step)
        values = dict(record.parameters) if record is not None else {}
        values.update(plain(parse_assignments(args.assign)))
        names = TuneParams.parameters()
        params = TuneParams(**{k: v for k, v in values.items()
                               if k in names and k not in TuneParams.RESERVED},
                            step=args.step)
        trained = work(Step(run, args.step, "view"), params)
    except WorkbenchError as err:
        sys.stderr.write(f"error: {err.message}\n" + (f"  fix: {err.hint}\n" if err.hint
                                                       else ""))
        return err.exit_code
    sys.stdout.write(f"trained {trained} trial(s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
