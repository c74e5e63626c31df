"""What `workbench run` adds over executing the same notebooks with papermill directly.

Peer: the `papermill` command, once per stage notebook, with the same parameters (including a
run folder made beforehand, so the notebooks do the same work). Workbench: `workbench run
--force` (no cache) of the same pipeline. Two pipelines: the small fixture notebooks (the
runner's overhead alone) and the default pipeline with the test suite's small parameters.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench._common import emit

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FIXTURES = REPO / "tests" / "fixtures"


def _pipeline(project: Path) -> list[tuple[str, Path, dict]]:
    """(stage, notebook, parameters) as the runner would execute them."""
    import workbench  # noqa: F401
    from workbench.pipeline.params import read_params_file, resolve_parameters
    from workbench.pipeline.spec import Pipeline
    from workbench.project import Project

    pipeline = Pipeline.for_project(Project.load(project))
    params_file = project / "params.yaml"
    overrides = resolve_parameters(pipeline, pipeline.stages, params_file=read_params_file(
        params_file) if params_file.exists() else None)
    return [(s.name, s.notebook, overrides[s.name]) for s in pipeline.stages]


def _papermill(project: Path) -> float:
    from workbench.runs import RunStore

    run = RunStore(project / "runs").create(state="interactive")
    t0 = time.perf_counter()
    for stage, notebook, params in _pipeline(project):
        out = run.path / stage / notebook.name
        out.parent.mkdir(parents=True, exist_ok=True)
        args = [str(BIN / "papermill"), str(notebook), str(out), "--cwd", str(project),
                "--no-progress-bar", "-k", "python3",
                "-p", "run_dir", str(run.path), "-p", "step", stage, "-p", "mode", "compute"]
        for key, value in params.items():
            args += ["-y", yaml.safe_dump({key: value})]
        subprocess.run(args, check=True, capture_output=True, cwd=project)
    return time.perf_counter() - t0


_API_SCRIPT = """
import sys, json, papermill
for out, nb, params in json.loads(sys.argv[1]):
    papermill.execute_notebook(nb, out, parameters=params, kernel_name="python3",
                               progress_bar=False, cwd=sys.argv[2])
"""


def _papermill_api(project: Path) -> float:
    """All notebooks from one Python process through papermill's API (one interpreter start,
    as `workbench run` has)."""
    import json

    from workbench.runs import RunStore

    run = RunStore(project / "runs").create(state="interactive")
    jobs = []
    for stage, notebook, params in _pipeline(project):
        out = run.path / stage / notebook.name
        out.parent.mkdir(parents=True, exist_ok=True)
        jobs.append([str(out), str(notebook),
                     {**params, "run_dir": str(run.path), "step": stage, "mode": "compute"}])
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", _API_SCRIPT, json.dumps(jobs), str(project)],
                   check=True, capture_output=True, cwd=project)
    return time.perf_counter() - t0


def _workbench(project: Path) -> float:
    args = [str(BIN / "workbench"), "run", "--force"]
    if (project / "params.yaml").exists():
        args += ["--params", str(project / "params.yaml")]
    t0 = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, cwd=project,
                   env={**os.environ, "WORKBENCH_HOME": str(project)})
    return time.perf_counter() - t0


def measure(name: str, project: Path, repeat: int) -> None:
    _workbench(project)  # warm file caches and compiled bytecode for both
    wb, cli, api = [], [], []
    for _ in range(repeat):
        cli.append(_papermill(project))
        api.append(_papermill_api(project))
        wb.append(_workbench(project))
    w, c, a = statistics.median(wb), statistics.median(cli), statistics.median(api)
    stages = len(_pipeline(project))
    emit("runner_overhead", f"{name}_wall_s", workbench=w, peer=a,
         peer_name="papermill API, one process", unit="s", runs=repeat, stages=stages)
    emit("runner_overhead", f"{name}_wall_s_vs_cli", workbench=w, peer=c,
         peer_name="papermill CLI per notebook", unit="s", runs=repeat, stages=stages)
    emit("runner_overhead", f"{name}_added_s", workbench=w - a, unit="s", stages=stages,
         per_stage_s=round((w - a) / stages, 3))


def main() -> None:
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    with tempfile.TemporaryDirectory() as tmp:
        fixture = Path(tmp) / "fixture"
        fixture.mkdir()
        shutil.copytree(FIXTURES / "notebooks", fixture / "notebooks")
        shutil.copy(FIXTURES / "pipeline.yaml", fixture / "workbench.yaml")
        measure("fixture_pipeline", fixture, repeat)

        default = Path(tmp) / "default"
        default.mkdir()
        (default / "workbench.yaml").write_text("runs_dir: runs\n")
        shutil.copy(FIXTURES / "small.yaml", default / "params.yaml")
        measure("default_pipeline_small", default, repeat)


if __name__ == "__main__":
    main()
