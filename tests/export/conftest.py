"""Shared, expensive fixtures of the export tests: trained contract models and one signed
export of a binary model (each built once per session)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from workbench.export.integrity import generate_keypair
from workbench.export.params import ExportParams
from workbench.runs.step import open_step
from workbench.runs.store import Run

from .models import Trained, make_run, train


@pytest.fixture(scope="session")
def export_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="session")
def binary_model(export_root: Path) -> Trained:
    return train("binary", export_root / "binary-model")


@dataclass
class Exported:
    run: Run
    trained: Trained
    result: object
    private_key: Path
    public_key: Path

    @property
    def model_dir(self) -> Path:
        return self.result.model_dir


@pytest.fixture(scope="session")
def signed_export(export_root: Path, binary_model: Trained) -> Exported:
    """A blessed binary model exported with a signing key (the export stage, compute mode)."""
    from workbench.export.stage import export_model

    root = export_root / "signed"
    private, public = generate_keypair(export_root / "signer")
    run = make_run(root, binary_model)
    step = open_step("04_export", str(run.path), "compute")
    result = export_model(step, ExportParams(signing_key=str(private), approval="approved", approved_by="risk-team", warmup_records=24, model_name="fraud"))
    step.finish()
    return Exported(run, binary_model, result, private, public)
