"""The baseline a candidate model is compared with: the currently blessed model.

That is the latest other run whose ``03_evaluate`` step finished and whose ``blessing``
artifact says ``blessed``, for the same label and task, and whose ``02_train`` model is still
there. Or, with ``baseline="stable"`` (``"stable:<model>"``), the version a TF Serving model
repository (the project's ``serving/``) labels ``stable``: its export metadata names the run it
came from. As TFMA does, the baseline model is evaluated again on the candidate's eval split,
so both are measured on the same rows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError, WorkbenchError
from workbench.runs.lineage import find_blessed, is_blessed
from workbench.runs.step import Step
from workbench.runs.store import Run, RunStore
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


def _candidate(run: Run, label: str, task: str, columns: set[str] | None = None
               ) -> tuple[Baseline | None, str]:
    """The run's trained model as a baseline for ``label``/``task`` on data with ``columns``,
    or why it cannot be one. Its artifacts are read through a view step, so their hashes are
    checked."""
    step = Step(run, TRAIN_STEP, "view")
    try:
        info = step.load("model_info")
        model = step.artifact("model")
    except WorkbenchError:
        return None, "its model is missing or changed"
    if info.get("label") != label or info.get("task") != task:
        return None, f"for label '{info.get('label')}' ({info.get('task')})"
    lacking = sorted({f["name"] for f in info.get("features", [])} - columns) if columns else []
    if lacking:
        return None, f"it takes features this data lacks ({', '.join(lacking[:5])})"
    return Baseline(run.id, model.path, model.sha256, info), ""


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


def find_baseline(store: RunStore, *, exclude: Run, label: str, task: str,
                  ref: str = "", columns: set[str] | None = None) -> Baseline | None:
    """``ref``: empty for the latest blessed run, ``none`` for no baseline, ``stable`` /
    ``stable:<model>`` for the version serving as stable, or a run id."""
    if ref.lower() == "none":
        return None
    serving = ref == "stable" or ref.startswith("stable:")
    if serving:  # what serves is the baseline, blessed or (by an override) not
        ref = stable_run(ref)
    if ref:
        run = store.open(ref)
        found, why = _candidate(run, label, task, columns)
        if found is None or (not serving and not is_blessed(run)):
            raise ConfigError(f"run {run.id} cannot be the baseline: "
                              f"{why or 'its model was not blessed'}",
                              hint="name a run whose 03_evaluate blessed a model for the same "
                              "label, or leave baseline empty", parameter="baseline")
        return found
    found_run, skipped = find_blessed(store, exclude=exclude, accept=lambda run, _: (
        _candidate(run, label, task, columns)[1]))
    if found_run is None:
        if skipped:
            log.info("no baseline; skipped: %s", "; ".join(skipped))
        return None
    found, _ = _candidate(found_run, label, task, columns)
    found.skipped = skipped
    return found
