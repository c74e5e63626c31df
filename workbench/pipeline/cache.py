"""The step cache: a stage execution's fingerprint, finding an earlier identical execution, and
bringing its step into a new run.

As TFX caches components: the same notebook, library code and parameters (and what a stage's
fingerprint hook adds, e.g. the baseline it compares with) give the same key; a candidate with
that key is reused only when every input artifact it actually read has the same hash in this
run, and its own artifacts are intact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.pipeline.environment import library_digest
from workbench.pipeline.params import plain
from workbench.pipeline.spec import Stage
from workbench.registry import load_object
from workbench.runs.atomic import tree_identities
from workbench.runs.record import StepState
from workbench.runs.step import verify_step
from workbench.runs.store import Run, RunStore, now_iso

__all__ = ["Fingerprint", "find_cached", "fingerprint", "link_step", "notebook_digest"]


def notebook_digest(path: Path) -> str:
    """Hash of what a notebook computes: cell types and sources, not outputs or metadata."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    h = hashlib.sha256()
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        h.update(cell.get("cell_type", "").encode() + b"\0" + source.encode("utf-8") + b"\0")
    return h.hexdigest()


def _file_fingerprints(values: dict[str, Any], root: Path) -> dict[str, Any]:
    """Stat fingerprints of parameters that name existing files (as TFX fingerprints inputs)."""
    out = {}
    for name, value in sorted(values.items()):
        if not isinstance(value, str) or not value or len(value) > 4096:
            continue
        path = Path(value) if os.path.isabs(value) else root / value
        with contextlib.suppress(OSError):
            if path.is_file():
                st = path.stat()
                out[name] = [str(path.resolve()), st.st_size, st.st_mtime_ns]
            elif path.is_dir():
                files = sorted(p for p in path.rglob("*") if p.is_file())
                out[name] = [str(path.resolve()), len(files),
                             sum(p.stat().st_size for p in files),
                             max((p.stat().st_mtime_ns for p in files), default=0)]
    return out


def _digest(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class Fingerprint:
    """A stage execution's cache key, and the hash of each part (kept in the step record, so
    a cache miss can be explained: which part changed)."""

    def __init__(self, parts: dict[str, str]) -> None:
        self.parts = parts
        self.key = _digest(parts)


def fingerprint(run: Run, stage: Stage, params: dict[str, Any], root: Path) -> Fingerprint:
    """The key of executing ``stage`` with ``params`` in ``run``. Input artifacts are not in
    the key: a candidate is checked against the inputs it actually read (:func:`find_cached`)."""
    material: dict[str, Any] = {
        "notebook": notebook_digest(stage.notebook),
        "library": library_digest(),
        "parameters": {k: plain(v) for k, v in sorted(params.items())},
        "files": _file_fingerprints(params, root),
    }
    if stage.fingerprint_hook:
        hook = load_object(stage.fingerprint_hook, what=f"fingerprint hook of stage {stage.name}")
        material["hook"] = hook(run, stage.name, params)
    return Fingerprint({k: _digest(v) for k, v in material.items()})


def find_cached(store: RunStore, stage: Stage, key: str, run: Run) -> Run | None:
    """The newest earlier execution of ``stage`` with the same key whose recorded inputs
    (every artifact it read, with its hash) equal this run's, and whose own artifacts are
    intact."""
    current = run.record().artifact_hashes()
    for candidate, manifest in store.newest_first(exclude=run):
        record = manifest.step(stage.name)
        if record is None or record.fingerprint != key or not record.done:
            continue
        if any(current.get(ref) != digest for ref, digest in record.inputs.items()):
            continue
        try:
            verify_step(candidate, stage.name)
        except WorkbenchError:
            continue
        return candidate
    return None


def link_step(source: Run, run: Run, step: str, *, state: StepState) -> None:
    """Bring a finished (and just verified) step of another run into this one by hard links:
    artifacts are immutable, so sharing inodes is safe. A link changes only the files' ctime,
    so the identities at which the source was verified carry over to the same inodes."""
    record = source.step(step)
    if record is None:
        raise WorkbenchError(f"run {source.id} has no step {step} to reuse")
    target = run.step_dir(step)
    _clear(target)
    src = source.step_dir(step)
    if src.is_dir():
        tmp = target.with_name(f".{step}.link-tmp")
        _clear(tmp)
        shutil.copytree(src, tmp, copy_function=_link_or_copy,
                        ignore=shutil.ignore_patterns(".*.tmp"))
        os.replace(tmp, target)
    for art in record.artifacts.values():
        art.seen = _carried(art.seen, run.path / art.path)
    record.state = state
    record.cached_from = record.cached_from or source.id
    record.linked = now_iso()
    run.put_step(record)


def _carried(seen: dict[str, list[int]] | None, path: Path) -> dict[str, list[int]] | None:
    """The identities of the linked files when they are the verified inodes, unchanged but for
    the link's ctime; None (verify again) otherwise."""
    if seen is None or not path.exists():
        return None
    now = tree_identities(path)
    same = now.keys() == seen.keys() and all(now[k][:3] == seen[k][:3] for k in seen)
    return now if same else None


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _clear(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
