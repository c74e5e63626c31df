"""What a run records about where it ran: Python, packages, git commit; and the library digest
that enters every step's cache fingerprint."""

from __future__ import annotations

import functools
import hashlib
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["collect_environment", "git_commit", "library_digest", "package_versions"]

PACKAGES = (
    "tf-workbench", "tensorflow", "keras", "tensorboard", "tensorflow-serving-api",
    "tensorflow-metadata", "ai-edge-litert", "numpy", "pyarrow", "pandas", "polars",
    "scikit-learn", "papermill", "nbclient", "jupyterlab", "ipywidgets", "anywidget", "voila",
    "protobuf", "grpcio",
)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_commit(folder: Path) -> dict[str, Any] | None:
    """HEAD of the git checkout holding ``folder``, and whether it has local changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=folder, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def collect_environment(project_root: Path) -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
    }
    git = git_commit(project_root)
    if git:
        env["git"] = git
    return env


@functools.lru_cache(maxsize=1)
def library_digest() -> str:
    """Hash of the workbench library's Python sources: a code change invalidates the cache,
    as TFX fingerprints a component's code."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()
