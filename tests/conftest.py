"""Shared fixtures: throw-away projects and the real `workbench` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
ARTIFACTS = REPO / "test-artifacts"
WORKBENCH = str(Path(sys.executable).with_name("workbench"))


def newest_run(project: Path) -> Path:
    """The newest run folder of a project (by creation time, not by name: two runs started in
    the same second sort by their random suffix)."""
    from workbench.runs import RunStore

    return RunStore(project / "runs").runs()[-1].path


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder that is the current folder and WORKBENCH_HOME."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "workbench.yaml").write_text("runs_dir: runs\n")
    monkeypatch.setenv("WORKBENCH_HOME", str(root))
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def fixture_project(project: Path) -> Path:
    """A project whose pipeline is the two small fixture notebooks (no TensorFlow)."""
    shutil.copytree(FIXTURES / "notebooks", project / "notebooks")
    shutil.copy(FIXTURES / "pipeline.yaml", project / "workbench.yaml")
    return project


def run_workbench(*args: str, cwd: Path | None = None, timeout: float = 600,
                  env: dict[str, str] | None = None) -> Result:
    """The real CLI in a subprocess, as a user runs it."""
    proc = subprocess.run([WORKBENCH, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def workbench(project: Path):
    def call(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> Result:
        return run_workbench(*args, cwd=project, timeout=timeout, env=env)

    return call


class SmallRuns:
    """One session project where the default pipeline runs with small parameters
    (tests/fixtures/small.yaml). ``upto(stage)`` returns a run that finished that stage;
    later calls reuse earlier stages from the cache, so each stage executes once per session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "workbench.yaml").write_text("runs_dir: runs\n")
        self._done: dict[str, str] = {}

    def _params_upto(self, stage: str) -> Path:
        """small.yaml without the sections of later stages (a --params file may only name
        stages that run)."""
        import yaml

        from workbench.pipeline.spec import Pipeline

        names = Pipeline.default().names
        later = set(names[names.index(stage) + 1:]) if stage in names else set()
        params = yaml.safe_load((FIXTURES / "small.yaml").read_text()) or {}
        path = self.root / f"small-upto-{stage}.yaml"
        path.write_text(yaml.safe_dump({k: v for k, v in params.items() if k not in later}))
        return path

    def upto(self, stage: str) -> tuple[Path, str]:
        if stage not in self._done:
            result = run_workbench("run", "--to", stage, "--params",
                                   str(self._params_upto(stage)), cwd=self.root,
                                   env={"WORKBENCH_HOME": str(self.root)}, timeout=1200)
            assert result.code == 0, f"pipeline up to {stage} failed:\n{result.text}"
            self._done[stage] = newest_run(self.root).name
        return self.root, self._done[stage]


@pytest.fixture(scope="session")
def small_runs(tmp_path_factory: pytest.TempPathFactory) -> SmallRuns:
    return SmallRuns(tmp_path_factory.mktemp("small-runs"))


CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Debian chromium is not installed; `make test` installs it "
                    "(apt-get install chromium chromium-driver)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@dataclass
class TwoRuns:
    """Two small runs of one project that differ in one training parameter (epochs) and one
    data change (rows), up to evaluation (the diff, report and review-app tests)."""

    root: Path
    a: str
    b: str

    def workbench(self, *args: str, **kw):  # noqa: ANN003, ANN201
        return run_workbench(*args, cwd=self.root, env={"WORKBENCH_HOME": str(self.root)}, **kw)


@pytest.fixture(scope="session")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    import yaml

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
