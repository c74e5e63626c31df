"""Every stage's parameters are declared once: the notebook's parameters cell is checked
against the declaration (names, order, defaults, help), and the declaration is what the runner,
`workbench stages` and the notebook itself use."""

from __future__ import annotations

import ast
import json

import papermill
import pytest

from workbench.errors import ParameterError
from workbench.params import StageParams, parameters_cell
from workbench.pipeline.params import parse_assignments, resolve_parameters
from workbench.pipeline.spec import Pipeline

STAGES = Pipeline.default().stages


def test_every_default_stage_has_a_declaration() -> None:
    assert [s.name for s in STAGES] == ["01_data_validation", "02_train", "03_evaluate",
                                        "04_export", "05_tflite", "06_serving"]
    for stage in STAGES:
        declaration = stage.declaration
        assert declaration is not None and issubclass(declaration, StageParams), stage.name
        assert declaration.STAGE == stage.name == declaration().step


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_the_parameters_cell_is_the_declaration(stage) -> None:
    declared = stage.declaration.parameters()
    found = papermill.inspect_notebook(str(stage.notebook))
    cell = parameters_cell(stage.declaration)
    fix = f"replace the parameters cell of {stage.notebook.name} with:\n{cell}"
    assert list(found) == list(declared), fix
    for name, p in declared.items():
        assert ast.literal_eval(found[name]["default"]) == p.default, f"{name}: {fix}"
        assert found[name]["help"] == p.help, f"{name}: {fix}"
        assert p.help, f"{stage.name}.{name} has no help"
    nb = json.loads(stage.notebook.read_text(encoding="utf-8"))
    (source,) = ["".join(c["source"]) for c in nb["cells"]
                 if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert source == cell, fix


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_no_notebook_call_repeats_parameter_names(stage) -> None:
    """The notebook hands the stage one object: no `name=name` keyword of a parameter."""
    declared = set(stage.declaration.parameters())
    nb = json.loads(stage.notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or "parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                assert node.id not in declared, (
                    f"{stage.notebook.name} uses parameter {node.id} by name; read it from "
                    f"params.{node.id}")


def test_the_declaration_checks_types_and_ranges_before_a_kernel_starts() -> None:
    pipeline = Pipeline.default()
    targets = pipeline.select()
    with pytest.raises(ParameterError, match=r"'epochs' takes an integer .* got 'abc'") as err:
        resolve_parameters(pipeline, targets, assignments=parse_assignments(["epochs=abc"]))
    assert "-p epochs=20" in err.value.hint and err.value.context["parameter"] == "epochs"
    with pytest.raises(ParameterError, match="stage 02_train: parameter epochs=0: must be"):
        resolve_parameters(pipeline, targets, assignments=parse_assignments(["epochs=0"]))
    with pytest.raises(ParameterError, match="'hidden_units' takes a list of integers"):
        resolve_parameters(pipeline, targets,
                           assignments=parse_assignments(["hidden_units=[8,x]"]))
    with pytest.raises(ParameterError, match="'precision' is 'fp8'; it takes one of"):
        resolve_parameters(pipeline, targets, assignments=parse_assignments(["precision=fp8"]))
    out = resolve_parameters(pipeline, targets, assignments=parse_assignments(
        ["label=1", "02_train.learning_rate=1e-3"]))
    assert out["01_data_validation"]["label"] == "1"  # a string parameter keeps the text
    assert out["02_train"]["learning_rate"] == 0.001


def test_from_namespace_reads_what_the_user_edited() -> None:
    from workbench.train.params import TrainParams

    namespace = {n: p.default for n, p in TrainParams.parameters().items()}
    namespace.update(epochs=3, In=[], Out={})  # a notebook's globals hold more than params
    params = TrainParams.from_namespace(namespace)
    assert params.epochs == 3 and params.step == "02_train"
    namespace["hidden_units"].append(99)
    assert params.hidden_units == [64, 32], "the object does not share the cell's lists"
    with pytest.raises(ParameterError, match="takes an integer"):
        TrainParams.from_namespace({**namespace, "epochs": "3"})
    del namespace["dropout"]
    with pytest.raises(ParameterError, match="parameters cell does not define dropout"):
        TrainParams.from_namespace(namespace)
