"""Operations on a repository and its server, shared by the CLI and the stage notebook."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from workbench.data.names import model_name
from workbench.errors import ConfigError
from workbench.serving.control import Change, Controller
from workbench.serving.process import ServerHandle, running
from workbench.serving.repository import PushResult, Repository
from workbench.stages import DATA_VALIDATION, EXPORT, SERVING

__all__ = ["controller", "default_model_name", "export_of_run", "push_run", "status_report"]

log = logging.getLogger(__name__)


def export_of_run(run_ref: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """The checked ``04_export/saved_model`` folder of a run (id or path) and its data card
    (empty when the run has none)."""
    from workbench.project import Project
    from workbench.runs.step import Step

    run = Project.find().store().open(str(run_ref))
    step = Step(run, SERVING, "view")
    path = step.path(f"{EXPORT}/saved_model")
    card = step.load(f"{DATA_VALIDATION}/data_card") if step.has(
        f"{DATA_VALIDATION}/data_card") else {}
    return path, card


def default_model_name(repo: Repository, card: dict[str, Any] | None = None) -> str:
    names = repo.model_names()
    if card and card.get("name"):
        return model_name(str(card["name"]))
    if len(names) == 1:
        return names[0]
    if not names:
        return "model"
    raise ConfigError(f"{repo.config_path} serves several models: {', '.join(names)}",
                      hint="name one with --model")


def controller(repo: Repository, handle: ServerHandle | None = None, *,
               reload_over_grpc: bool = False) -> Controller:
    """A controller that applies changes live when the repository's server runs: through the
    config file the server polls (watching the REST status), and at once with
    HandleReloadConfigRequest when ``reload_over_grpc`` (its stubs import TensorFlow, which a
    short CLI call avoids)."""
    handle = handle or running(repo)
    if handle is None:
        return Controller(repo)
    return Controller(repo, handle.rest(), handle.grpc() if reload_over_grpc else None)


def push_run(repo: Repository, run_ref: str | os.PathLike[str] | None = None, *,
             export_dir: str | os.PathLike[str] | None = None, model: str = "",
             label: str = "auto", keep: int = 5, public_key_path: str | None = None,
             handle: ServerHandle | None = None, reload_over_grpc: bool = False
             ) -> tuple[PushResult, Change | None]:
    """Push a run's export (or a folder) as a new version and serve it under ``label``
    (``auto``: stable for the first version, canary beside an existing stable; ``none``:
    leave the labels alone)."""
    card: dict[str, Any] = {}
    if export_dir is None:
        if run_ref is None:
            raise ConfigError("nothing to push", hint="name a run (or an export folder)")
        export_dir, card = export_of_run(run_ref)
    repo.init()
    name = model or default_model_name(repo, card)
    result = repo.push(export_dir, name, keep=keep, public_key_path=public_key_path)
    change = None
    if label != "none":
        change = controller(repo, handle, reload_over_grpc=reload_over_grpc).deploy(
            name, result.version, label=label)
    return result, change


def status_report(repo: Repository) -> dict[str, Any]:
    """The repository's models, versions on disk, labels, and what the server reports."""
    handle = running(repo)
    out: dict[str, Any] = {"repository": str(repo.root),
                           "server": handle.to_dict() if handle else None, "models": {}}
    rest = handle.rest(timeout=5) if handle else None
    for name in repo.model_names():
        entry: dict[str, Any] = {"versions_on_disk": repo.versions(name),
                                 "labels": repo.labels(name),
                                 "policy": repo.policy(name).__dict__}
        if rest is not None:
            try:
                entry["served"] = rest.status(name)
            except Exception as err:  # noqa: BLE001 - status shows what went wrong
                entry["served_error"] = str(err)
        out["models"][name] = entry
    return out
