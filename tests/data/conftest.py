"""Fixtures of the data-validation tests: the TFDV reference files and small tables."""

from __future__ import annotations

from pathlib import Path

import pytest

TFDV = Path(__file__).parent / "fixtures" / "tfdv"


@pytest.fixture(scope="session")
def tfdv() -> Path:
    """Files written by TFDV 1.21 on the breast-cancer data (see fixtures/tfdv/README.md)."""
    return TFDV


@pytest.fixture(scope="session")
def fraud_table():
    from workbench.data.datasets import generate_fraud

    return generate_fraud(4000, seed=3)
