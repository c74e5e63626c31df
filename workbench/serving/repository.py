"""The model repository TF Serving reads: versioned SavedModels plus its configuration files.

Layout (the default root is ``<project>/serving``)::

    serving/
      models/<name>/<version>/      one SavedModel per integer version
      models.config                 ModelServerConfig text proto (policies, labels)
      batching.config               BatchingParameters text proto
      monitoring.config             MonitoringConfig text proto

A push copies a verified export into a hidden temporary folder beside the versions (TF Serving
ignores names that are not integers), verifies the copy, then renames it to the next integer:
a server never sees half a version. Older versions beyond ``keep`` are removed, except those a
label or a specific policy still names.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tensorflow_serving.config import model_server_config_pb2

from workbench.errors import ConfigError, IntegrityError, WorkbenchError
from workbench.runs.atomic import atomic_write_text, default_mode
from workbench.serving.config import (
    BatchingOptions,
    VersionPolicy,
    batching_text,
    find_model,
    model_config,
    monitoring_text,
    policy_of,
    read_model_server_config,
    write_model_server_config,
)

__all__ = ["PushResult", "Repository", "verify_model_dir"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushResult:
    name: str
    version: int
    path: Path
    removed: tuple[int, ...] = ()
    integrity: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "path": str(self.path),
                "removed": list(self.removed), "integrity": self.integrity}


def verify_model_dir(path: Path, *, public_key_path: str | os.PathLike[str] | None = None,
                     contents: bool = True) -> dict[str, Any]:
    """Check an export before it is served: a SavedModel whose files match its integrity
    manifest (and signature, given a public key). Raises IntegrityError naming the problem.
    ``contents=False``: the bytes were verified already; check the file list and signature."""
    if not (path / "saved_model.pb").is_file():
        raise IntegrityError(f"{path} is not a SavedModel (saved_model.pb is missing)",
                             hint="push the 04_export/saved_model folder of a run",
                             path=str(path))
    from workbench.export.integrity import verify_export

    return verify_export(path, public_key_path, contents=contents).to_dict()


class Repository:
    """A TF Serving model repository folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"Repository({self.root})"

    @classmethod
    def default(cls, path: str | os.PathLike[str] = "") -> Repository:
        """``path`` (relative paths from the project folder), or ``<project>/serving``."""
        from workbench.project import Project

        root = Project.find().root
        if not path:
            return cls(root / "serving")
        p = Path(path)
        return cls(p if p.is_absolute() else root / p)

    # -- paths ---------------------------------------------------------------------------------
    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def config_path(self) -> Path:
        return self.root / "models.config"

    @property
    def batching_path(self) -> Path:
        return self.root / "batching.config"

    @property
    def monitoring_path(self) -> Path:
        return self.root / "monitoring.config"

    def base_path(self, name: str) -> Path:
        return self.models_dir / name

    # -- configuration -------------------------------------------------------------------------
    def init(self, *, batching: BatchingOptions | None = None, overwrite: bool = False) -> None:
        """Create the folder with a models.config, batching and monitoring config (kept when
        they exist, unless ``overwrite``)."""
        self.models_dir.mkdir(parents=True, exist_ok=True)
        if overwrite or not self.config_path.exists():
            write_model_server_config(self.config_path,
                                      model_server_config_pb2.ModelServerConfig())
        if batching is not None and (overwrite or not self.batching_path.exists()):
            atomic_write_text(self.batching_path, batching_text(batching))
        elif not self.batching_path.exists():
            atomic_write_text(self.batching_path, batching_text(default_batching()))
        if overwrite or not self.monitoring_path.exists():
            atomic_write_text(self.monitoring_path, monitoring_text())

    def read_config(self) -> Any:
        if not self.config_path.exists():
            return model_server_config_pb2.ModelServerConfig()
        return read_model_server_config(self.config_path)

    def write_config(self, config: Any) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return write_model_server_config(self.config_path, config)

    def model_names(self) -> list[str]:
        return [c.name for c in self.read_config().model_config_list.config]

    def model(self, name: str) -> Any:
        cfg = find_model(self.read_config(), name)
        if cfg is None:
            raise ConfigError(f"model '{name}' is not in {self.config_path}",
                              hint=f"models there: {', '.join(self.model_names()) or 'none'}; "
                                   f"push one with: workbench serve push RUN --model {name}")
        return cfg

    def labels(self, name: str) -> dict[str, int]:
        cfg = find_model(self.read_config(), name)
        return dict(cfg.version_labels) if cfg is not None else {}

    def set_model(self, name: str, *, policy: VersionPolicy,
                  labels: dict[str, int] | None = None) -> Any:
        """Replace (or add) one model's entry in models.config; returns the whole config."""
        for label, version in (labels or {}).items():
            if version not in policy.select(self.versions(name)):
                raise ConfigError(
                    f"label '{label}' of model '{name}' would point at version {version}, "
                    f"which the version policy does not serve",
                    hint="serve the version first (two steps: versions, then labels)")
        config = self.read_config()
        new = model_config(name, str(self.base_path(name)), policy=policy, labels=labels)
        entries = config.model_config_list.config
        for i, cfg in enumerate(entries):
            if cfg.name == name:
                if cfg.HasField("logging_config"):  # request logging outlives label moves
                    new.logging_config.CopyFrom(cfg.logging_config)
                entries[i].CopyFrom(new)
                break
        else:
            entries.add().CopyFrom(new)
        self.write_config(config)
        log.info("models.config: %s policy=%s labels=%s", name, policy, labels)
        return config

    def policy(self, name: str) -> VersionPolicy:
        return policy_of(self.model(name))

    # -- versions ------------------------------------------------------------------------------
    def versions(self, name: str) -> list[int]:
        base = self.base_path(name)
        if not base.is_dir():
            return []
        return sorted(int(p.name) for p in base.iterdir()
                      if p.is_dir() and p.name.isdigit())

    def version_dir(self, name: str, version: int) -> Path:
        return self.base_path(name) / str(int(version))

    def push(self, export_dir: str | os.PathLike[str], name: str, *,
             version: int | None = None, keep: int = 5,
             public_key_path: str | os.PathLike[str] | None = None,
             verified: bool = False) -> PushResult:
        """Copy a verified export in as the next version, atomically; apply retention.
        ``verified``: the caller has just checked the export's bytes (a run artifact read
        through its step), so they are copied without hashing them again; the file list and
        signature are still checked, and the server verifies what it loads."""
        source = Path(export_dir)
        if not source.is_dir():
            raise WorkbenchError(f"export folder {source} does not exist",
                                 hint="push a run's 04_export/saved_model folder", path=str(source))
        if keep < 1:
            raise ConfigError(f"keep={keep}: at least one version must be kept",
                              hint="use --keep 1 or more")
        verify_model_dir(source, public_key_path=public_key_path, contents=not verified)
        base = self.base_path(name)
        base.mkdir(parents=True, exist_ok=True)
        existing = self.versions(name)
        if version is None:
            version = (existing[-1] + 1) if existing else 1
        if version in existing:
            raise ConfigError(f"version {version} of model '{name}' already exists in {base}",
                              hint="versions are never overwritten; push without --version")
        tmp = Path(tempfile.mkdtemp(prefix=f".push-{version}-", dir=base))
        try:
            default_mode(tmp, is_dir=True)
            staged = tmp / "model"
            shutil.copytree(source, staged)
            report = verify_model_dir(staged, public_key_path=public_key_path,
                                      contents=not verified)
            _fsync_tree(staged)
            final = self.version_dir(name, version)
            os.rename(staged, final)  # atomic within one file system; fails if it exists
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        removed = self.apply_retention(name, keep=keep, protect=(version,))
        log.info("pushed %s as %s version %d", source, name, version)
        return PushResult(name, version, final, tuple(removed), report)

    def in_use(self, name: str) -> set[int]:
        """Versions named by a label or by a specific version policy."""
        cfg = find_model(self.read_config(), name)
        if cfg is None:
            return set()
        used = set(dict(cfg.version_labels).values())
        policy = policy_of(cfg)
        if policy.kind == "specific":
            used |= set(policy.versions)
        return used

    def apply_retention(self, name: str, *, keep: int, protect: tuple[int, ...] = ()
                        ) -> list[int]:
        versions = self.versions(name)
        keep_set = set(versions[-keep:]) | self.in_use(name) | set(protect)
        removed = []
        for v in versions:
            if v not in keep_set:
                path = self.version_dir(name, v)
                trash = path.with_name(f".removed-{v}")
                os.rename(path, trash)  # disappears from the server's view in one step
                shutil.rmtree(trash, ignore_errors=True)
                removed.append(v)
        if removed:
            log.info("retention kept %d version(s) of %s, removed %s", keep, name, removed)
        return removed


def default_batching() -> BatchingOptions:
    """Batching for one-example requests on a small CPU machine (TF Serving's CPU advice:
    threads = cores, a short timeout)."""
    return BatchingOptions(max_batch_size=64, batch_timeout_micros=1000,
                           max_enqueued_batches=100, num_batch_threads=os.cpu_count() or 1,
                           allowed_batch_sizes=(8, 16, 32, 64))


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
