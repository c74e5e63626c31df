"""The baseline a candidate model is compared with: the currently blessed model.

That is the latest other run whose ``03_evaluate`` step finished and whose ``blessing``
artifact says ``blessed``, for the same label and task, and whose ``02_train`` model is still
there. Or, with ``baseline="stable"`` (``"stable:<model>"``), the version a TF Serving model
repository (the project's ``serving/``) labels ``stable``: its export metadata names the run it
came from. As TFMA does, the baseline model is evaluated again on the candidate's eval split,
so both are measured on the same rows.
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
from workbench.stages import TRAIN

__all__ = ["Baseline", "find_baseline"]

log = logging.getLogger(__name__)

TRAIN_STEP = TRAIN


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


def _candidate(run: Run, step: str, label: str, task: str, *, blessed: bool = True
               ) -> tuple[Baseline | None, str]:
    try:
        manifest = run.read()
    except WorkbenchError as err:
        return None, f"{run.id}: unreadable manifest ({err.message})"
    if blessed:
        record = manifest.get("steps", {}).get(step, {})
        if record.get("state") not in DONE_STEP_STATES:
            return None, ""
        blessing = _artifact(run, manifest, step, "blessing")
        if blessing is None or not json.loads(blessing[0].read_text()).get("blessed"):
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


def stable_run(ref: str, repository: str | Path = "") -> str:
    """The run id of the version a model repository labels ``stable`` (``ref`` is ``stable``
    or ``stable:<model>``)."""
    from workbench.export.metadata import read_metadata
    from workbench.serving.repository import Repository

    repo = Repository.default(str(repository))
    _, _, name = ref.partition(":")
    names = repo.model_names() if repo.config_path.exists() else []
    if not name:
        if len(names) != 1:
            raise ConfigError(f"baseline '{ref}': the model repository {repo.root} serves "
                              f"{len(names)} models, so which one is meant is not clear",
                              hint=f"write stable:<model>; models: {', '.join(names) or 'none'}",
                              parameter="baseline")
        name = names[0]
    version = repo.labels(name).get("stable") if name in names else None
    if version is None:
        raise ConfigError(f"baseline '{ref}': model '{name}' has no version labelled stable in "
                          f"{repo.root}",
                          hint="label one (workbench serve promote), or leave baseline empty "
                          "for the latest blessed run", parameter="baseline")
    try:
        return str(read_metadata(repo.version_dir(name, version))["run_id"])
    except (OSError, KeyError, ValueError) as err:
        raise ConfigError(f"baseline '{ref}': version {version} of '{name}' has no readable "
                          f"export metadata ({err})",
                          hint="push exports made by stage 04_export", parameter="baseline"
                          ) from err


def find_baseline(store: RunStore, *, exclude: Run, step: str, label: str, task: str,
                  ref: str = "") -> Baseline | None:
    """``ref``: empty for the latest blessed run, ``none`` for no baseline, ``stable`` /
    ``stable:<model>`` for the version serving as stable, or a run id."""
    if ref.lower() == "none":
        return None
    serving = ref == "stable" or ref.startswith("stable:")
    if serving:  # what serves is the baseline, blessed or (by an override) not
        ref = stable_run(ref)
    if ref:
        run = store.open(ref)
        found, why = _candidate(run, step, label, task, blessed=not serving)
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
