"""One run whose stage 01 finished on 3,000 fraud rows, shared by the search tests."""

from __future__ import annotations

import pytest

from tests.train.helpers import data_run, make_project

SMALL = {"epochs": 2, "batch_size": 64, "hidden_units": [16], "seed": 7}


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory):
    return data_run(make_project(tmp_path_factory.mktemp("tune")), rows=3000)
