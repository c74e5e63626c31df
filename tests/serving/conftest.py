"""Serving fixtures: two exports of the demo model (made once per session) and helpers to run
real model servers on free ports."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.serving.control import Controller
from workbench.serving.process import ServerHandle, start_local, stop
from workbench.serving.repository import Repository

MODEL = "fraud"


def make_exports(factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Two exports of the demo model (different weights), made once per test session."""
    from tests.serving.demo_model import export

    root = factory.getbasetemp() / "serving-exports"
    if not (root / "done").exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        export(root / "v1", seed=0)
        export(root / "v2", seed=1)
        (root / "done").touch()
    return {1: root / "v1", 2: root / "v2"}


@pytest.fixture(scope="session")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    return make_exports(tmp_path_factory)


def new_repository(root: Path, exports: dict[int, Path], *, versions: int = 1) -> Repository:
    repo = Repository(root)
    repo.init()
    ctl = Controller(repo)
    for i in range(versions):
        result = repo.push(exports[1 + i % 2], MODEL)
        ctl.deploy(MODEL, result.version, label="stable")
    return repo


def placeholder_repository(root: Path, model: str = MODEL) -> Repository:
    """A model repository whose model has an empty version 1 labelled stable: enough for what
    reads only the config (manifests, logging settings), with no export to load."""
    from workbench.serving.config import VersionPolicy

    repo = Repository(root)
    repo.init()
    (repo.base_path(model) / "1").mkdir(parents=True)
    repo.set_model(model, policy=VersionPolicy("specific", versions=(1,)), labels={"stable": 1})
    return repo


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, exports) -> Iterator[ServerHandle]:
    """A running local server (batching on) with version 1 of the model labelled stable."""
    repo = new_repository(tmp_path_factory.mktemp("repo"), exports)
    handle = start_local(repo, rest_port=0, grpc_port=0, poll_seconds=0.2,
                         config_poll_seconds=0.2)
    yield handle
    stop(repo)


def copy_export(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
