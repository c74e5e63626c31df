"""The model that is live: the version the model repository labels ``stable`` (else its newest
version), the run it was exported from (its export metadata), since when, and whether a
server serves it now."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.project import Project

__all__ = ["LiveModel", "live_model", "served_versions"]

log = logging.getLogger(__name__)


@dataclass
class LiveModel:
    name: str
    version: int
    labels: dict[str, int]
    path: Path
    run_id: str | None
    since: str | None  # when the version was pushed (UTC, ISO)
    metadata: dict[str, Any] = field(default_factory=dict)
    server: Any = None  # the running server's handle, or None

    @property
    def label_names(self) -> list[str]:
        return sorted(k for k, v in self.labels.items() if v == self.version)

    @property
    def decision_threshold(self) -> float | None:
        return (self.metadata.get("evaluation") or {}).get("decision_threshold")


def _repository(project: Project) -> Any:
    from workbench.serving.repository import Repository

    return Repository(project.root / "serving")


def served_versions(project: Project | None = None) -> list[dict[str, Any]]:
    """Every model version in the repository with its labels and run (newest first)."""
    from workbench.export.metadata import read_metadata

    project = project or Project.find()
    repo = _repository(project)
    if not repo.config_path.is_file():
        return []
    out = []
    for name in repo.model_names():
        labels = repo.labels(name)
        for version in reversed(repo.versions(name)):
            path = repo.version_dir(name, version)
            try:
                meta = read_metadata(path)
            except (OSError, ValueError):
                meta = {}
            out.append({"model": name, "version": version,
                        "labels": sorted(k for k, v in labels.items() if v == version),
                        "run_id": meta.get("run_id"), "since": _mtime(path),
                        "approval": meta.get("approval") or {},
                        "decision_threshold": (meta.get("evaluation") or {}).get(
                            "decision_threshold"),
                        "path": str(path)})
    return out


def _mtime(path: Path) -> str | None:
    try:
        t = path.stat().st_mtime
    except OSError:
        return None
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds")


def live_model(project: Project | None = None) -> LiveModel | None:
    """The live model (see the module docstring), or None when nothing is deployed."""
    from workbench.export.metadata import read_metadata
    from workbench.serving.process import running

    project = project or Project.find()
    repo = _repository(project)
    if not repo.config_path.is_file():
        return None
    for name in repo.model_names():
        labels = repo.labels(name)
        versions = repo.versions(name)
        version = labels.get("stable") or (versions[-1] if versions else None)
        if version is None:
            continue
        path = repo.version_dir(name, version)
        try:
            meta = read_metadata(path)
        except (OSError, ValueError) as err:
            log.info("version %s of %s has no readable metadata: %s", version, name, err)
            meta = {}
        try:
            server = running(repo)
        except Exception as err:  # noqa: BLE001 - a broken pid file must not break a page
            log.info("cannot tell whether the server runs: %s", err)
            server = None
        return LiveModel(name, int(version), labels, path, meta.get("run_id"), _mtime(path),
                         meta, server)
    return None
