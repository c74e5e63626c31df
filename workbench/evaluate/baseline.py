"""The baseline a candidate model is compared with: the currently blessed model.

That is the latest other run whose ``03_evaluate`` step finished and whose ``blessing``
artifact says ``blessed``, for the same label and task, and whose ``02_train`` model is still
there. As TFMA does, the baseline model is evaluated again on the candidate's eval split, so
both are measured on the same rows.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError, WorkbenchError
from workbench.runs.atomic import hash_path
from workbench.runs.store import DONE_STEP_STATES, Run, RunStore

__all__ = ["Baseline", "find_baseline"]

log = logging.getLogger(__name__)

TRAIN_STEP = "02_train"


@dataclass
class Baseline:
    run: str
    model_path: Path
    model_sha256: str
    info: dict[str, Any]
    skipped: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """What the stage's artifacts say about the baseline: the model, not the run, so a
        rerun against the same model writes the same bytes (the run is in the manifest)."""
        return {"model_sha256": self.model_sha256, "builder": self.info.get("builder")}


def _artifact(run: Run, manifest: dict[str, Any], step: str, name: str
              ) -> tuple[Path, str] | None:
    record = manifest.get("steps", {}).get(step, {}).get("artifacts", {}).get(name)
    if not record:
        return None
    path = run.path / record["path"]
    try:
        if path.exists() and hash_path(path) == record["sha256"]:
            return path, record["sha256"]
    except OSError:
        return None
    return None


def _candidate(run: Run, step: str, label: str, task: str) -> tuple[Baseline | None, str]:
    try:
        manifest = run.read()
    except WorkbenchError as err:
        return None, f"{run.id}: unreadable manifest ({err.message})"
    record = manifest.get("steps", {}).get(step, {})
    if record.get("state") not in DONE_STEP_STATES:
        return None, ""
    blessing = _artifact(run, manifest, step, "blessing")
    if blessing is None:
        return None, ""
    if not json.loads(blessing[0].read_text()).get("blessed"):
        return None, ""
    info_art = _artifact(run, manifest, TRAIN_STEP, "model_info")
    model_art = _artifact(run, manifest, TRAIN_STEP, "model")
    if info_art is None or model_art is None:
        return None, f"{run.id}: blessed, but its model is missing or changed"
    info = json.loads(info_art[0].read_text())
    if info.get("label") != label or info.get("task") != task:
        return None, (f"{run.id}: blessed, but for label '{info.get('label')}' "
                      f"({info.get('task')})")
    return Baseline(run.id, model_art[0], model_art[1], info), ""


def find_baseline(store: RunStore, *, exclude: Run, step: str, label: str, task: str,
                  ref: str = "") -> Baseline | None:
    """``ref``: empty for the latest blessed run, ``none`` for no baseline, or a run id."""
    if ref.lower() == "none":
        return None
    if ref:
        run = store.open(ref)
        found, why = _candidate(run, step, label, task)
        if found is None:
            raise ConfigError(f"run {run.id} cannot be the baseline: "
                              f"{why.split(': ', 1)[-1] if why else 'its model was not blessed'}",
                              hint="name a run whose 03_evaluate blessed a model for the same "
                              "label, or leave baseline empty", parameter="baseline")
        return found
    skipped: list[str] = []
    for run in reversed(store.runs()):
        if run.path == exclude.path:
            continue
        found, why = _candidate(run, step, label, task)
        if found is not None:
            found.skipped = skipped
            return found
        if why:
            skipped.append(why)
    if skipped:
        log.info("no baseline; skipped: %s", "; ".join(skipped))
    return None
