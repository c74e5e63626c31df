"""Shared fixtures: throw-away projects and the real `workbench` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ARTIFACTS = REPO / "test-artifacts"
WORKBENCH = str(Path(sys.executable).with_name("workbench"))


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder that is the current folder and WORKBENCH_HOME."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "workbench.yaml").write_text("runs_dir: runs\n")
    monkeypatch.setenv("WORKBENCH_HOME", str(root))
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def fixture_project(project: Path) -> Path:
    """A project whose pipeline is the two small fixture notebooks (no TensorFlow)."""
    shutil.copytree(FIXTURES / "notebooks", project / "notebooks")
    shutil.copy(FIXTURES / "pipeline.yaml", project / "workbench.yaml")
    return project


def run_workbench(*args: str, cwd: Path | None = None, timeout: float = 600,
                  env: dict[str, str] | None = None) -> Result:
    """The real CLI in a subprocess, as a user runs it."""
    proc = subprocess.run([WORKBENCH, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def workbench(project: Path):
    def call(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> Result:
        return run_workbench(*args, cwd=project, timeout=timeout, env=env)

    return call
