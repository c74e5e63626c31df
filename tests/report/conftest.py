"""Two small runs that differ in one training parameter (epochs) and one data change (rows),
built once per session up to evaluation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from ..conftest import FIXTURES, newest_run, run_workbench


@dataclass
class TwoRuns:
    root: Path
    a: str
    b: str

    def workbench(self, *args: str, **kw):  # noqa: ANN003, ANN201
        return run_workbench(*args, cwd=self.root, env={"WORKBENCH_HOME": str(self.root)}, **kw)


@pytest.fixture(scope="session")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    root = tmp_path_factory.mktemp("report-runs")
    (root / "workbench.yaml").write_text("runs_dir: runs\n")
    small = yaml.safe_load((FIXTURES / "small.yaml").read_text())
    params = root / "small.yaml"
    params.write_text(yaml.safe_dump({k: small[k] for k in ("01_data_validation", "02_train")}))
    ids = []
    for rows, epochs in ((3000, 2), (3600, 3)):
        result = run_workbench("run", "--to", "03_evaluate", "--params", str(params),
                               "-p", f"rows={rows}", "-p", f"02_train.epochs={epochs}",
                               cwd=root, env={"WORKBENCH_HOME": str(root)}, timeout=900)
        assert result.code in (0, 3), result.text
        ids.append(newest_run(root).name)
    return TwoRuns(root, *ids)
