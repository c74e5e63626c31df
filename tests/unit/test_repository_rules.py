"""Rules of the repository itself: layering, packaging, notebooks stored without outputs,
lint, and no TensorFlow start-up noise."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from ..conftest import REPO

BIN = Path(sys.executable).parent


def test_core_never_imports_ui_packages() -> None:
    result = subprocess.run([str(BIN / "lint-imports")], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_never_imports_the_widgets() -> None:
    """import-linter cannot see workbench.widgets (mapped from widgets/), so check by AST."""
    import ast

    offenders = []
    for path in (REPO / "workbench").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "workbench.widgets" or n.startswith("workbench.widgets.")
                   for n in names):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders, f"the core imports the widgets: {offenders}"


def test_ruff_is_clean_on_code_and_notebooks() -> None:
    result = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout


def test_every_package_folder_is_installed() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapping = config["package-dir"]
    found = set()
    for prefix, folder in mapping.items():
        root = REPO / folder
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root).parts
            found.add(".".join((prefix, *rel)))
    assert found == listed, f"missing from pyproject: {found - listed}; extra: {listed - found}"


@pytest.mark.slow
def test_the_wheel_ships_every_data_file(tmp_path: Path) -> None:
    """A non-editable install must carry the widgets' scripts, the notebooks, the templates and
    the schemas: build the wheel and look for every tracked non-Python file of the packages."""
    import shutil
    import zipfile

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    # build from a copy of the tracked files: a stale build/ folder cannot fill the gaps
    source = tmp_path / "source"
    for rel in subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.split():
        if (REPO / rel).is_file():
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, source / rel)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "--disable-pip-version-check", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = tmp_path.glob("tf_workbench-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    # the longest mapped folder wins (workbench/ maps to itself, widgets/ to workbench/widgets)
    mapping = sorted(config["package-dir"].items(), key=lambda kv: -len(kv[1]))
    tracked = subprocess.run(["git", "ls-files", *dict(mapping).values()], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.split()
    missing = []
    for rel in tracked:
        if rel.endswith(".py"):
            continue
        for prefix, folder in mapping:
            if rel.startswith(folder + "/"):
                target = "/".join((*prefix.split("."), rel[len(folder) + 1:]))
                if target not in shipped:
                    missing.append(f"{rel} (as {target})")
                break
    assert not missing, f"left out of the wheel, fix [tool.setuptools.package-data]: {missing}"


def test_notebooks_are_committed_without_outputs() -> None:
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=REPO, capture_output=True,
                             text=True).stdout.split()
    assert tracked, "no notebooks tracked?"
    for path in tracked:
        nb = json.loads((REPO / path).read_text())
        dirty = [i for i, c in enumerate(nb["cells"])
                 if c.get("outputs") or c.get("execution_count")]
        assert not dirty, f"{path}: cells {dirty} carry outputs"


@pytest.mark.slow
def test_tensorflow_import_is_quiet_after_workbench() -> None:
    code = ("import workbench, tensorflow as tf; tf.constant(1.0) + 1; "
            "import keras; print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok"
    assert result.stderr == "", result.stderr


def test_cli_help_and_version_are_fast_and_quiet() -> None:
    result = subprocess.run([str(BIN / "workbench"), "--version"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "version" in result.stdout
    assert result.stderr == ""
    assert "tensorflow" not in sys.modules or True
    probe = subprocess.run([sys.executable, "-c",
                            "import sys, workbench.cli; print('tensorflow' in sys.modules)"],
                           capture_output=True, text=True)
    assert probe.stdout.strip() == "False", "the CLI must not import TensorFlow to start"
