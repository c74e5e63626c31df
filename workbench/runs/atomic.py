"""Atomic file and directory writes, and content hashes.

A reader sees either the old content or the new, never a half-written file: data goes to a
temporary sibling, is flushed to disk, and is renamed over the target (``os.replace`` is atomic on
POSIX file systems). Directories are written the same way: built under a temporary name, then
renamed into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_dir",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "file_digest",
    "file_identity",
    "hash_path",
    "sha256_file",
    "sha256_tree",
    "tree_changes",
    "tree_digest",
    "tree_hashes",
    "tree_identities",
]

_CHUNK = 1 << 20
_UMASK = os.umask(0)
os.umask(_UMASK)


def default_mode(path: str | os.PathLike[str], *, is_dir: bool = False) -> None:
    """Give a ``mkstemp``/``mkdtemp`` result (0600/0700) the permissions a normal file or folder
    would get under the process umask, so other users (a serving container) can read it."""
    os.chmod(path, (0o777 if is_dir else 0o666) & ~_UMASK)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        default_mode(tmp)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    text = json.dumps(obj, indent=2, sort_keys=False, default=_json_default, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def _json_default(obj: Any) -> Any:
    # NumPy scalars and paths show up in metrics and parameters; store them as plain JSON.
    if hasattr(obj, "item") and callable(obj.item):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``path`` when the block succeeds.

    On an exception the temporary directory is removed and ``path`` is untouched. An existing
    ``path`` is moved aside first and removed only after the new one is in place.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    default_mode(tmp, is_dir=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


#: Set to a file path, every content hash appends "<bytes>\t<path>" to it (counts the bytes
#: hashed, across processes; see bench/bench_hashing.py).
HASH_LOG_ENV = "WORKBENCH_HASH_LOG"
#: A file changed this recently may change again within the file system's timestamp tick
#: without its stat changing, so its hash is not remembered (git's "racily clean" entries).
RACY_NS = 50_000_000
_memo: dict[tuple[int, ...], str] = {}


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file's bytes, read from disk (every call reads the whole file)."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    log = os.environ.get(HASH_LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{size}\t{os.path.abspath(path)}\n")
    return h.hexdigest()


def file_identity(st: os.stat_result) -> list[int]:
    """What changes whenever a file's content does: inode, size, mtime and ctime (ctime cannot
    be set back by ``touch``/``utime``; a rename keeps all four)."""
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def file_digest(path: str | os.PathLike[str], *, full: bool = False) -> str:
    """:func:`sha256_file`, remembered for the process by the file's identity (device, inode,
    size, mtime, ctime): the same unchanged file is read once. ``full`` always reads."""
    st = os.stat(path)
    key = (st.st_dev, *file_identity(st))
    if not full and key in _memo:
        return _memo[key]
    started = time.time_ns()
    digest = sha256_file(path)
    after = os.stat(path)
    if (after.st_dev, *file_identity(after)) == key and key[-1] < started - RACY_NS:
        _memo[key] = digest
    return digest


def tree_hashes(path: str | os.PathLike[str], *, full: bool = False) -> dict[str, str]:
    """sha256 of every file under a directory, by relative path, in sorted order."""
    root = Path(path)
    return {f.relative_to(root).as_posix(): file_digest(f, full=full)
            for f in sorted(p for p in root.rglob("*") if p.is_file())}


def tree_identities(path: str | os.PathLike[str]) -> dict[str, list[int]]:
    """:func:`file_identity` of a file (key ``""``) or of every file under a directory."""
    root = Path(path)
    if not root.is_dir():
        return {"": file_identity(root.stat())}
    return {f.relative_to(root).as_posix(): file_identity(f.stat())
            for f in sorted(p for p in root.rglob("*") if p.is_file())}


def tree_digest(hashes: dict[str, str]) -> str:
    """The directory hash of :func:`tree_hashes`' result."""
    h = hashlib.sha256()
    for rel, digest in hashes.items():
        h.update(rel.encode("utf-8") + b"\0" + digest.encode("ascii") + b"\n")
    return h.hexdigest()


def sha256_tree(path: str | os.PathLike[str], *, full: bool = False) -> str:
    """Hash of a directory: every file's relative path and content, in sorted order."""
    return tree_digest(tree_hashes(path, full=full))


def tree_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What differs between two :func:`tree_hashes` results, as 'changed: a', 'added: b'..."""
    out = [f"changed: {k}" for k in before if k in after and before[k] != after[k]]
    out += [f"missing: {k}" for k in before if k not in after]
    out += [f"added: {k}" for k in after if k not in before]
    return out


def hash_path(path: str | os.PathLike[str], *, full: bool = False) -> str:
    """:func:`file_digest` for a file, :func:`sha256_tree` for a directory."""
    p = Path(path)
    return sha256_tree(p, full=full) if p.is_dir() else file_digest(p, full=full)
