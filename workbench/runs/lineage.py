"""Questions about runs across the store: is a run's model blessed, which run is the baseline.

One lookup serves data validation (drift is measured against the baseline run's data) and
evaluation (the candidate is compared with the baseline run's model): the newest other run
whose ``03_evaluate`` step finished and whose ``blessing`` artifact (read through a view step,
so its hash is checked) says ``blessed``, among the runs a stage accepts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from workbench.errors import WorkbenchError
from workbench.runs.record import RunRecord
from workbench.runs.step import Step
from workbench.runs.store import Run, RunStore
from workbench.stages import EVALUATE

__all__ = ["Accept", "find_blessed", "is_blessed"]

log = logging.getLogger(__name__)

#: whether a run can serve as a stage's baseline: "" when it can, else why not (shown when
#: no baseline is found; return None to skip a run silently)
Accept = Callable[[Run, RunRecord], str | None]


def is_blessed(run: Run, record: RunRecord | None = None) -> bool:
    """Whether the run's evaluation finished and blessed its model."""
    record = record or run.record()
    if not record.done(EVALUATE) or record.artifact(EVALUATE, "blessing") is None:
        return False
    try:
        blessing = Step(run, EVALUATE, "view").load("blessing")
    except WorkbenchError as err:
        log.warning("ignoring the blessing of run %s: %s", run.id, err)
        return False
    return isinstance(blessing, dict) and blessing.get("blessed") is True


def find_blessed(store: RunStore, *, exclude: Run | None = None,
                 accept: Accept | None = None) -> tuple[Run | None, list[str]]:
    """The newest blessed run (other than ``exclude``) that ``accept`` takes, and why the
    blessed runs before it were not taken."""
    skipped: list[str] = []
    for run, record in store.newest_first(exclude=exclude):
        if not is_blessed(run, record):
            continue
        why = accept(run, record) if accept is not None else ""
        if why == "":
            return run, skipped
        if why:
            skipped.append(f"{run.id}: blessed, but {why}")
    return None, skipped
