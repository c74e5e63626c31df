"""Notebooks in git: nbdime's drivers after `workbench git-setup`, and the pre-commit hook."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import nbformat

from ..conftest import REPO, run_workbench


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                          cwd=repo, capture_output=True, text=True, check=True)


def _notebook(path: Path, output: str, count: int | None = 1) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print('hi')", execution_count=count, id="c1")
    cell.outputs = [nbformat.v4.new_output("stream", text=output)]
    nb.cells.append(cell)
    nbformat.write(nb, path)


def test_git_diff_shows_cells_after_git_setup(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    _notebook(tmp_path / "n.ipynb", "old output\n")
    _git(tmp_path, "add", "n.ipynb")
    _git(tmp_path, "commit", "-qm", "one")
    result = run_workbench("git-setup", cwd=tmp_path)
    assert result.code == 0, result.text
    assert not (tmp_path / ".gitattributes").exists(), "the work tree stays clean"
    _notebook(tmp_path / "n.ipynb", "new output\n")
    diff = _git(tmp_path, "diff").stdout
    assert "nbdiff" in diff and "outputs" in diff
    assert "-  old output" in diff.replace("- old", "-  old") or "old output" in diff
    assert '"text"' not in diff, "raw JSON instead of cells"


def test_git_setup_outside_a_repository(tmp_path: Path) -> None:
    result = run_workbench("git-setup", cwd=tmp_path, env={"GIT_CEILING_DIRECTORIES":
                                                           str(tmp_path.parent)})
    assert result.code == 1 and "not inside a git repository" in result.err
    assert "git init" in result.err


def test_pre_commit_refuses_a_notebook_with_outputs_and_clears_it(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    shutil.copy(REPO / ".pre-commit-config.yaml", tmp_path)
    (tmp_path / ".venv").symlink_to(REPO / ".venv")
    _notebook(tmp_path / "n.ipynb", "some output\n", count=7)
    _git(tmp_path, "add", "n.ipynb", ".pre-commit-config.yaml")
    pre_commit = [str(REPO / ".venv" / "bin" / "pre-commit"), "run", "--files", "n.ipynb"]
    first = subprocess.run(pre_commit, cwd=tmp_path, capture_output=True, text=True)
    assert first.returncode == 1 and "files were modified by this hook" in first.stdout
    nb = nbformat.read(tmp_path / "n.ipynb", as_version=4)
    assert nb.cells[0].outputs == [] and nb.cells[0].execution_count is None
    assert nb.cells[0].id == "c1", "cell ids are kept"
    second = subprocess.run(pre_commit, cwd=tmp_path, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout
