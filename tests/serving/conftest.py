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


@pytest.fixture(scope="session")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Two exports of the demo model (different weights), each a verified SavedModel."""
    from tests.serving.demo_model import export

    root = tmp_path_factory.mktemp("exports")
    return {1: export(root / "v1", seed=0), 2: export(root / "v2", seed=1)}


def new_repository(root: Path, exports: dict[int, Path], *, versions: int = 1) -> Repository:
    repo = Repository(root)
    repo.init()
    ctl = Controller(repo)
    for i in range(versions):
        result = repo.push(exports[1 + i % 2], MODEL)
        ctl.deploy(MODEL, result.version, label="stable")
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
