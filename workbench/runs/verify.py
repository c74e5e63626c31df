"""Verify an artifact against its recorded hash, once.

An artifact is hashed when it is written. Reading it later checks it again, but a check that
hashed the bytes and found them intact records the files' stat identities (inode, size, mtime,
ctime; :func:`~workbench.runs.atomic.file_identity`) in the artifact's record, as git's index
does. While every file still has that identity, no process of the run hashes the bytes again;
any change to a file's content changes its identity (ctime cannot be set back), so a changed
artifact is still caught, and named. ``full=True`` hashes regardless (``workbench verify``, and
anyone who asks). Identities of files written within the file system's timestamp tick of the
check are not recorded (they could change again unseen), so those get one more hash later.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from workbench.runs import atomic
from workbench.runs.atomic import (
    file_digest,
    tree_changes,
    tree_digest,
    tree_hashes,
    tree_identities,
)
from workbench.runs.record import ArtifactRecord

__all__ = ["Verdict", "check_artifact", "settled_identities"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: ``problem`` is None when the artifact is intact; ``seen`` holds
    identities to record when this check hashed the bytes (None: nothing new to record)."""

    problem: str | None
    seen: dict[str, list[int]] | None = None
    hashed: bool = False


def settled_identities(path: Path) -> dict[str, list[int]] | None:
    """The identities of ``path``'s files, or None while any of them changed too recently to
    be trusted (see the module docstring)."""
    ids = tree_identities(path)
    limit = time.time_ns() - atomic.RACY_NS
    return ids if all(i[3] < limit for i in ids.values()) else None


def check_artifact(run_path: Path, record: ArtifactRecord, *, full: bool = False) -> Verdict:
    """Whether the artifact still has its recorded content (see the module docstring)."""
    path = record.location(run_path)
    if not path.exists():
        return Verdict("it is missing")
    if not full and record.seen is not None and tree_identities(path) == record.seen:
        return Verdict(None)
    if path.is_dir():
        files = tree_hashes(path, full=full)
        if tree_digest(files) != record.sha256:
            if record.files is not None:
                return Verdict("; ".join(tree_changes(record.files, files)) or "it changed",
                               hashed=True)
            return Verdict("a file in it changed", hashed=True)
    else:
        digest = file_digest(path, full=full)
        if digest != record.sha256:
            return Verdict(f"sha256 {digest[:12]}…, recorded {record.sha256[:12]}…",
                           hashed=True)
    return Verdict(None, settled_identities(path), hashed=True)
