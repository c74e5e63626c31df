"""Bad data files at ingest: each refused with what, where and how to fix, a non-zero exit
from the CLI, and nothing half-written in the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.data.datasets import load_dataset, write_table
from workbench.data.params import DataValidationParams
from workbench.data.stage import ingest
from workbench.errors import WorkbenchError
from workbench.runs import RunStore
from workbench.runs.step import Step

from ..conftest import newest_run


@pytest.fixture
def step(tmp_path: Path) -> Step:
    run = RunStore(tmp_path / "runs").create(state="interactive")
    return Step(run, "01_data_validation", "compute")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _folder(path):  # noqa: ANN001, ANN202
    path.mkdir()
    return path


@pytest.mark.parametrize("case, message, fix", [
    ("missing", "does not exist", "check the data_path parameter"),
    ("folder", "holds no data file", "or point data_path at a file"),
    ("empty", "is empty (0 bytes)", "write the data again"),
    ("header_only", "has a header (3 columns) but no rows", "the file holds no data"),
    ("wrong_label", "label names 'is_fraud', which is not a column of", "one of: a, b, c"),
    ("not_excel", "cannot read Excel file", "save it again from Excel as .xlsx"),
    ("unknown_format", "unknown format '.foo'", ".csv"),
])
def test_bad_files_are_refused_with_the_fix(step, tmp_path, case, message, fix):
    path = {
        "missing": lambda: tmp_path / "nope.csv",
        "folder": lambda: _folder(tmp_path / "empty_folder"),
        "empty": lambda: _write(tmp_path, "empty.csv", ""),
        "header_only": lambda: _write(tmp_path, "header.csv", "a,b,c\n"),
        "wrong_label": lambda: _write(tmp_path, "data.csv", "a,b,c\n1,2,3\n4,5,6\n"),
        "not_excel": lambda: _write(tmp_path, "data.xlsx", "x"),
        "unknown_format": lambda: _write(tmp_path, "data.foo", "x"),
    }[case]()
    with pytest.raises(WorkbenchError) as info:
        ingest(step, DataValidationParams(data_path=str(path), label="is_fraud"))
    assert message in info.value.message and fix in (info.value.hint or "")
    assert str(path) in str(info.value) or case == "wrong_label"
    assert not step.dir.exists() or not any(step.dir.iterdir())  # nothing written
    assert not step.record.artifacts


@pytest.mark.slow
def test_the_cli_exits_non_zero_and_the_run_keeps_nothing_half_written(project, workbench):
    write_table(load_dataset("fraud", rows=500), project / "tx.csv")
    result = workbench("run", "--only", "01", "-p", "data_path=tx.csv", "-p", "label=fraud")
    assert result.code == 1
    assert "label names 'fraud', which is not a column of" in result.err
    assert "did you mean" not in result.err and "is_fraud" in result.err  # the columns
    run = newest_run(project)
    step = run / "01_data_validation"
    assert {p.name for p in step.iterdir()} <= {"01_data_validation.ipynb", "kernel.log"}
    from workbench.runs import Run

    record = Run(run).read()["steps"]["01_data_validation"]
    assert record["state"] == "failed" and "artifacts" not in record
