"""The cache key of a stage: what enters it, and a stage's own hook (no kernels needed)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from workbench.errors import ConfigError
from workbench.pipeline.cache import fingerprint
from workbench.pipeline.runner import Runner
from workbench.project import Project

SEEN: dict[str, object] = {"baseline": "a"}


def hook(run, stage, params):  # noqa: ANN001, ANN201 - the hook signature under test
    return {"baseline": SEEN["baseline"], "stage": stage, "value": params["value"]}


@pytest.fixture
def runner(fixture_project: Path) -> Runner:
    return Runner(Project.load(fixture_project))


def _key(runner: Runner, run, stage, params) -> tuple[str, dict[str, str]]:  # noqa: ANN001
    found = fingerprint(run, stage, params, runner.project.root)
    return found.key, found.parts


def test_parts_change_with_what_they_cover(runner: Runner, fixture_project: Path) -> None:
    run = runner.store.create()
    stage = runner.pipeline.stage("01_produce")
    key, parts = _key(runner, run, stage, {"value": 1, "repeat": 3})
    assert set(parts) == {"notebook", "library", "parameters", "files"}
    key2, parts2 = _key(runner, run, stage, {"value": 2, "repeat": 3})
    assert key2 != key and {k for k in parts if parts[k] != parts2[k]} == {"parameters"}
    data = fixture_project / "data.csv"
    data.write_text("a\n1\n")
    key3, parts3 = _key(runner, run, stage, {"value": 1, "repeat": 3,
                                                    "path": "data.csv"})
    data.write_text("a\n1\n2\n")
    _, parts4 = _key(runner, run, stage, {"value": 1, "repeat": 3, "path": "data.csv"})
    assert parts3["files"] != parts4["files"]  # a changed input file is a new input


def test_hook_joins_the_key(runner: Runner) -> None:
    run = runner.store.create()
    stage = dataclasses.replace(runner.pipeline.stage("01_produce"),
                                fingerprint_hook=f"{__name__}:hook")
    key, parts = _key(runner, run, stage, {"value": 1})
    assert "hook" in parts
    SEEN["baseline"] = "b"
    try:
        assert _key(runner, run, stage, {"value": 1})[0] != key
    finally:
        SEEN["baseline"] = "a"
    broken = dataclasses.replace(stage, fingerprint_hook="no.such.module:f")
    with pytest.raises(ConfigError, match="cannot be imported"):
        _key(runner, run, broken, {"value": 1})
