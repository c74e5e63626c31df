"""Parameters and pipeline definitions, checked against the real notebooks' parameters cells."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import ConfigError, ParameterError
from workbench.pipeline.params import parse_assignments, resolve_parameters
from workbench.pipeline.spec import RESERVED_PARAMETERS, Pipeline, notebook_parameters
from workbench.project import Project

from ..conftest import FIXTURES


@pytest.fixture
def fixture_pipeline(fixture_project: Path) -> Pipeline:
    return Pipeline.for_project(Project.load(fixture_project))


def test_assignments_parse_yaml_scalars() -> None:
    parsed = parse_assignments(["a=3", "b=0.5", "c=true", "d=[x, y]", "s.e=hi", "f="])
    assert parsed["a"].value == 3 and parsed["b"].value == 0.5 and parsed["c"].value is True
    assert parsed["d"].value == ["x", "y"] and parsed["s"]["e"].value == "hi"
    assert parsed["f"].value == ""
    with pytest.raises(ParameterError, match="is not a parameter assignment"):
        parse_assignments(["novalue"])


def test_values_are_layered_and_typed(fixture_pipeline: Pipeline) -> None:
    fixture_pipeline.parameters = {"value": 4, "02_consume": {"threshold": 50}}
    overrides = resolve_parameters(
        fixture_pipeline, fixture_pipeline.stages,
        params_file={"repeat": 2},
        assignments=parse_assignments(["consume.threshold=70", "sleep=1"]))
    assert overrides["01_produce"] == {"value": 4, "repeat": 2}
    assert overrides["02_consume"] == {"threshold": 70, "sleep": 1.0}  # int widened to float


def test_string_parameters_keep_the_text(fixture_project: Path) -> None:
    pipeline = Pipeline.default()
    stage = pipeline.stage("01_data_validation")
    out = resolve_parameters(pipeline, [stage], assignments=parse_assignments(["label=1"]))
    assert out[stage.name]["label"] == "1"


@pytest.mark.parametrize("assignment, message", [
    ("value=x", "takes an integer"),
    ("fail=3", "takes true or false"),
    ("mode=view", "set by the runner"),
    ("zzz=1", "unknown parameter 'zzz'"),
    ("02_consume.value=1", "stage 02_consume has no parameter 'value'"),
])
def test_bad_values_are_refused(fixture_pipeline: Pipeline, assignment: str,
                                message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        resolve_parameters(fixture_pipeline, fixture_pipeline.stages,
                           assignments=parse_assignments([assignment]))


def test_stage_selection(fixture_pipeline: Pipeline) -> None:
    names = lambda stages: [s.name for s in stages]  # noqa: E731
    assert names(fixture_pipeline.select(start="2")) == ["02_consume"]
    assert names(fixture_pipeline.select(stop="produce")) == ["01_produce"]
    assert names(fixture_pipeline.select(only=["02"])) == ["02_consume"]
    with pytest.raises(ConfigError, match="comes after"):
        fixture_pipeline.select(start="02", stop="01")
    with pytest.raises(ConfigError, match="cannot be combined"):
        fixture_pipeline.select(only=["01"], start="01")


def test_needs_must_name_earlier_stages(project: Path) -> None:
    (project / "nb.ipynb").write_bytes((FIXTURES / "notebooks" / "produce.ipynb").read_bytes())
    (project / "workbench.yaml").write_text(
        "stages:\n  - name: a\n    notebook: nb.ipynb\n    needs: [b]\n"
        "  - name: b\n    notebook: nb.ipynb\n")
    with pytest.raises(ConfigError, match="needs 'b', which is not an earlier stage"):
        Pipeline.for_project(Project.load(project))


def test_every_shipped_notebook_follows_the_parameters_rules() -> None:
    """One parameters cell, literal defaults, a comment on each line, the reserved names, and
    every parameter settable from the command line."""
    import json

    pipeline = Pipeline.default()
    for stage in pipeline.stages:
        nb = json.loads(stage.notebook.read_text())
        tagged = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1, f"{stage.notebook.name}: one parameters cell"
        source = "".join(tagged[0]["source"])
        for line in source.splitlines():
            if line.strip():
                assert "#" in line, f"{stage.notebook.name}: '{line}' needs a comment"
        declared = notebook_parameters(stage.notebook)  # raises on a non-literal default
        assert set(RESERVED_PARAMETERS) <= set(declared), stage.notebook.name
        for name, param in declared.items():
            if name in RESERVED_PARAMETERS:
                continue
            value = param.default
            text = "[" + ",".join(map(str, value)) + "]" if isinstance(value, list) else \
                str(value).lower() if isinstance(value, bool) else str(value)
            out = resolve_parameters(pipeline, [stage],
                                     assignments=parse_assignments([f"{name}={text}"]))
            assert out[stage.name][name] == value, (stage.name, name)
