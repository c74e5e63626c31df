"""Notebooks in git: nbdime's diff and merge drivers for ``*.ipynb``, scoped to one repository.

:func:`setup_git` runs ``nbdime config-git --enable`` (no ``--global``: the drivers go into the
repository's ``.git/config``), then moves the ``*.ipynb`` attribute lines nbdime adds to the
tracked ``.gitattributes`` into ``.git/info/attributes``, so the work tree stays clean, and points
the drivers at this environment's nbdime scripts by absolute path, so ``git diff`` works from a
shell where the virtualenv is not active. Outside a git repository it fails with the fix.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workbench.errors import ConfigError

__all__ = ["git_root", "setup_git"]

#: git config keys nbdime sets, each a command line starting with one of its scripts
_KEYS = ("diff.jupyternotebook.command", "merge.jupyternotebook.driver",
         "difftool.nbdime.cmd", "mergetool.nbdime.cmd")


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)


def git_root(start: Path) -> Path:
    """The top folder of the git work tree holding ``start``."""
    proc = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=start,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ConfigError(f"{start} is not inside a git repository",
                          hint="run it in a clone of the project (or `git init` first)")
    return Path(proc.stdout.strip())


def setup_git(start: Path) -> list[str]:
    """Enable nbdime's drivers and tools for the repository holding ``start``; returns the
    settings made, as ``git config`` lists them."""
    root = git_root(start)
    attributes = root / ".gitattributes"
    before = attributes.read_text(encoding="utf-8") if attributes.exists() else None
    proc = subprocess.run([sys.executable, "-m", "nbdime", "config-git", "--enable"], cwd=root,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ConfigError(f"nbdime could not configure git in {root}: "
                          f"{proc.stderr.strip() or proc.stdout.strip()}",
                          hint="check that `git config --local -l` works in that folder")
    after = attributes.read_text(encoding="utf-8") if attributes.exists() else ""
    added = [line for line in after.splitlines()
             if line.strip() and line not in (before or "").splitlines()]
    if before is None:
        attributes.unlink(missing_ok=True)
    else:
        attributes.write_text(before, encoding="utf-8")
    info = Path(_git(root, "rev-parse", "--git-path", "info/attributes").stdout.strip())
    info = info if info.is_absolute() else root / info
    info.parent.mkdir(parents=True, exist_ok=True)
    have = info.read_text(encoding="utf-8").splitlines() if info.exists() else []
    with info.open("a", encoding="utf-8") as f:
        for line in added:
            if line not in have:
                f.write(line + "\n")
    scripts = Path(sys.executable).parent
    for key in _KEYS:
        value = _git(root, "config", "--local", "--get", key).stdout.strip()
        tool, _, rest = value.partition(" ")
        if tool and (scripts / tool).is_file():
            _git(root, "config", "--local", key, f"{scripts / tool} {rest}".strip())
    listed = _git(root, "config", "--local", "--get-regexp", "nbdime|jupyternotebook").stdout
    return [line for line in listed.splitlines() if line]
