"""`workbench pipeline compile --to kubeflow`: the KFP v2 YAML read back, and the compiled
pipeline run end to end through kfp.local (SubprocessRunner in this environment) on the two
fixture notebooks, compared with a real `workbench run`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
import yaml

from workbench.pipeline.kubeflow import pipeline_parameter_name
from workbench.pipeline.spec import RESERVED_PARAMETERS, Pipeline
from workbench.project import Project
from workbench.runs import Run, RunStore

from ..conftest import FIXTURES, newest_run, run_workbench

#: KFP's names of the parameter types (pipeline_spec ParameterType)
KFP_TYPE = {str: "STRING", int: "NUMBER_INTEGER", float: "NUMBER_DOUBLE", bool: "BOOLEAN",
            list: "LIST", dict: "STRUCT"}


def compile_yaml(root: Path, *args: str) -> tuple[dict, dict]:
    """Compile with the real CLI; the pipeline document and the platform (Kubernetes) one."""
    out = root / "pipeline.yaml"
    result = run_workbench("pipeline", "compile", "--to", "kubeflow", "--out", str(out), *args,
                           cwd=root, env={"WORKBENCH_HOME": str(root)})
    assert result.code == 0, result.text
    spec, platform = yaml.safe_load_all(out.read_text())
    return spec, platform


def tasks_by_stage(spec: dict) -> dict[str, dict]:
    return {t["taskInfo"]["name"]: {"key": key, **t}
            for key, t in spec["root"]["dag"]["tasks"].items()}


def test_every_stage_need_and_parameter_of_the_default_pipeline_is_in_the_yaml(project):
    spec, platform = compile_yaml(project, "--image", "registry.example/tf-workbench:9",
                                  "--with", "02_tune", "--with", "07_bulk_inference",
                                  "-p", "02_train.epochs=7")
    pipeline = Pipeline.for_project(Project.load(project)).including(
        ["02_tune", "07_bulk_inference"])
    tasks = tasks_by_stage(spec)
    assert sorted(tasks) == sorted(pipeline.names)  # the order: dependentTasks, below
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    executors = spec["deploymentSpec"]["executors"]
    mounts = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    previous = None
    for stage in pipeline.stages:
        task = tasks[stage.name]
        after = set(task.get("dependentTasks", []))
        assert {tasks[n]["key"] for n in stage.needs} <= after, stage.name
        if previous:  # one process owns a run: the steps follow the pipeline's order
            assert tasks[previous]["key"] in after
        previous = stage.name
        assert task["cachingOptions"].get("enableCache", False) is False
        executor = executors[spec["components"][task["componentRef"]["name"]]["executorLabel"]]
        container = executor["container"]
        assert container["image"] == "registry.example/tf-workbench:9"
        assert "pip install" not in " ".join(container["command"])  # nothing fetched
        (mount,) = mounts[spec["components"][task["componentRef"]["name"]]["executorLabel"]][
            "pvcMount"]
        assert mount["mountPath"] == "/work" and mount["constant"] == "workbench-shared"
        for name, param in stage.declared_parameters().items():
            if name in RESERVED_PARAMETERS:
                continue
            key = pipeline_parameter_name(stage, name)
            declared = inputs[key]
            assert declared["parameterType"] == KFP_TYPE[param.kind], key
            want = 7 if (stage.name, name) == ("02_train", "epochs") else param.default
            if param.kind in (int, float):
                assert float(declared["defaultValue"]) == float(want), key
            else:
                assert declared["defaultValue"] == want, key
            task_input = task["inputs"]["parameters"][name]
            assert task_input == {"componentInputParameter": key}
    assert inputs["workbench_project"]["defaultValue"] == "/work"
    assert inputs["workbench_run"]["defaultValue"] == ""
    assert len(inputs) == 3 + sum(
        len(set(s.declared_parameters()) - set(RESERVED_PARAMETERS)) for s in pipeline.stages)


def write_notebook(path: Path, parameters: str, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    cell = nbformat.v4.new_code_cell(textwrap.dedent(parameters))
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(textwrap.dedent(body))]
    nbformat.write(nb, path)


def test_a_parameter_kfp_cannot_carry_is_refused_naming_stage_parameter_and_fix(project):
    write_notebook(project / "weigh.ipynb", '''
        run_dir = ""
        step = "weigh"
        mode = "compute"
        rows = 10  # rows to weigh
        weights = None  # per-class weights; None: equal
        ''', "print(rows, weights)")
    (project / "workbench.yaml").write_text(
        "runs_dir: runs\nstages:\n  - name: 01_weigh\n    notebook: weigh.ipynb\n")
    out = project / "pipeline.yaml"
    result = run_workbench("pipeline", "compile", "--to", "kubeflow", "--out", str(out),
                           cwd=project, env={"WORKBENCH_HOME": str(project)})
    assert result.code == 1, result.text
    assert "stage 01_weigh: parameter 'weights' has type None (default None)" in result.err
    assert "which a Kubeflow Pipelines parameter cannot carry" in result.err
    assert "fix: KFP parameters are str, int, float, bool, list or dict" in result.err
    assert "Traceback" not in result.err
    assert not out.exists()


# -- kfp.local runs ------------------------------------------------------------------------------

_LOCAL = textwrap.dedent('''
    import json, sys
    import kfp.local
    from kfp import components
    root, spec, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    kfp.local.init(runner=kfp.local.SubprocessRunner(use_venv=False), pipeline_root=root)
    components.load_component_from_file(spec)(**args)
    ''')


def run_local(spec: Path, pipeline_root: Path, **args: object) -> subprocess.CompletedProcess:
    """The compiled YAML run by kfp.local in a fresh interpreter (kfp.local.init is global)."""
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_HOME"}
    return subprocess.run([sys.executable, "-c", _LOCAL, str(pipeline_root), str(spec),
                           json.dumps(args)], capture_output=True, text=True, timeout=600,
                          env=env, cwd=pipeline_root.parent)


def log_of(proc: subprocess.CompletedProcess) -> str:
    """What kfp.local printed, without its colours."""
    return re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)


def shape(run: Path) -> dict[str, set[str]]:
    """Every step folder's files and folders, relative to it (TensorBoard names its event
    files by time, host and process: those parts are left out)."""
    return {step.name: {re.sub(r"(tfevents)\.\d+\..*", r"\1.*", p.relative_to(step).as_posix())
                        for p in step.rglob("*")}
            for step in sorted(run.iterdir()) if step.is_dir()}


def step_outputs(pipeline_root: Path, task: str) -> tuple[dict, str]:
    """A task's executor output (metrics metadata) and its Markdown summary, from kfp.local's
    pipeline root."""
    (folder,) = [p for p in pipeline_root.glob(f"*/{task}") if p.is_dir()]
    output = folder / "executor_output.json"
    data = json.loads(output.read_text()) if output.exists() else {}
    return data, (folder / "summary").read_text()


def fixture_copy(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copytree(FIXTURES / "notebooks", root / "notebooks")
    (root / "workbench.yaml").write_text((FIXTURES / "pipeline.yaml").read_text()
                                         + "runs_dir: runs\n")
    return root


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """One project, its pipeline compiled and run once through kfp.local with a non-default
    parameter, and the same parameters run by `workbench run` in a second copy."""
    base = tmp_path_factory.mktemp("kubeflow")
    root = fixture_copy(base / "project")
    spec, _ = compile_yaml(root)
    proc = run_local(root / "pipeline.yaml", base / "kfp-root", workbench_project=str(root),
                     produce__value=2)
    reference = fixture_copy(base / "reference")
    params = reference / "params.yaml"
    params.write_text(yaml.safe_dump({"01_produce": {"value": 2}}))
    ran = run_workbench("run", "--params", str(params), cwd=reference,
                        env={"WORKBENCH_HOME": str(reference)})
    assert ran.code == 0, ran.text
    return {"root": root, "proc": proc, "kfp_root": base / "kfp-root", "spec": spec,
            "reference": newest_run(reference)}


@pytest.mark.slow
def test_kfp_local_runs_every_step_into_one_run_shaped_like_workbench_run(local_run):
    proc = local_run["proc"]
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    (run,) = RunStore(local_run["root"] / "runs").runs()
    assert run.id.startswith("kfp-")
    record = run.record()
    assert record.state == "succeeded"
    assert list(record.steps) == ["01_produce", "02_consume"]
    assert all(s.state == "succeeded" for s in record.steps.values())
    assert record.steps["01_produce"].parameters["value"] == 2
    produced = record.steps["01_produce"].artifacts["numbers"].sha256
    assert record.steps["02_consume"].inputs == {"01_produce/numbers": produced}
    assert shape(run.path) == shape(local_run["reference"])
    reference = Run(local_run["reference"]).record()
    assert {s: set(r.artifacts) for s, r in record.steps.items()} == {
        s: set(r.artifacts) for s, r in reference.steps.items()}
    tasks = tasks_by_stage(local_run["spec"])
    for name, step in record.steps.items():
        output, summary = step_outputs(local_run["kfp_root"], tasks[name]["key"])
        (metrics,) = output["artifacts"]["metrics"]["artifacts"]
        assert metrics["metadata"] == {k: float(v) for k, v in step.metrics.items()}
        assert f"`{run.id}`" in summary and "step state: succeeded" in summary
    assert record.steps["01_produce"].metrics == {"value": 2}
    assert f"workbench run --only 02_consume --resume {run.id}" in proc.stdout


@pytest.mark.slow
def test_a_step_without_the_shared_volume_fails_naming_the_path(local_run, tmp_path):
    missing = tmp_path / "not-mounted"
    proc = run_local(local_run["root"] / "pipeline.yaml", tmp_path / "kfp-root",
                     workbench_project=str(missing))
    assert proc.returncode != 0
    log = log_of(proc)
    assert f"the project folder {missing} does not exist in this step's container" in log
    assert "mount the shared volume" in log
    assert not missing.exists()


@pytest.mark.slow
def test_resume_only_runs_a_run_stage_by_stage_and_refuses_other_stages(fixture_project,
                                                                        workbench):
    """What each KFP step does to its run: `workbench run --resume RUN --only STAGE`."""
    run = RunStore(fixture_project / "runs").create(pipeline=["01_produce", "02_consume"])
    run.set(selection=["01_produce", "02_consume"], overrides={})
    first = workbench("run", "--resume", run.id, "--only", "01_produce")
    assert first.code == 0, first.text
    assert "still to run: 02_consume" in first.out
    assert run.record().state == "created" and run.record().ended is None  # not finished
    assert run.record().done("01_produce") and not run.record().done("02_consume")
    second = workbench("run", "--resume", run.id, "--only", "02_consume")
    assert second.code == 0, second.text
    assert run.record().state == "succeeded" and run.record().ended
    assert run.record().steps["02_consume"].inputs == {
        "01_produce/numbers": run.record().steps["01_produce"].artifacts["numbers"].sha256}

    other = RunStore(fixture_project / "runs").create(pipeline=["01_produce"])
    other.set(selection=["01_produce"], overrides={})
    refused = workbench("run", "--resume", other.id, "--only", "02_consume")
    assert refused.code == 1
    assert f"run {other.id} does not include 02_consume" in refused.err
    assert "its stages: 01_produce" in refused.err


@pytest.fixture(scope="module")
def real_stages(tmp_path_factory):
    """The real 01_data_validation and 02_train notebooks with the test suite's small
    parameters (tests/fixtures/small.yaml, a list among them), through kfp.local and through
    `workbench run`."""
    base = tmp_path_factory.mktemp("kubeflow-real")
    small = yaml.safe_load((FIXTURES / "small.yaml").read_text())
    small = {k: small[k] for k in ("01_data_validation", "02_train")}
    roots = []
    for name in ("project", "reference"):
        root = base / name
        root.mkdir()
        (root / "workbench.yaml").write_text(
            "runs_dir: runs\nstages: [01_data_validation, 02_train]\n")
        roots.append(root)
    root, reference = roots
    compile_yaml(root)
    pipeline = Pipeline.for_project(Project.load(root))
    args = {pipeline_parameter_name(pipeline.stage(s), k): v
            for s, values in small.items() for k, v in values.items()}
    proc = run_local(root / "pipeline.yaml", base / "kfp-root", workbench_project=str(root),
                     **args)
    params = reference / "params.yaml"
    params.write_text(yaml.safe_dump(small))
    ran = run_workbench("run", "--params", str(params), cwd=reference,
                        env={"WORKBENCH_HOME": str(reference)}, timeout=900)
    assert ran.code == 0, ran.text
    return {"root": root, "proc": proc, "small": small, "kfp_root": base / "kfp-root",
            "reference": newest_run(reference)}


@pytest.mark.slow
def test_real_stages_run_through_kfp_local_as_workbench_run_runs_them(real_stages):
    proc = real_stages["proc"]
    assert proc.returncode == 0, log_of(proc)[-4000:]
    (run,) = RunStore(real_stages["root"] / "runs").runs()
    record, reference = run.record(), Run(real_stages["reference"]).record()
    assert record.state == reference.state == "succeeded"
    assert shape(run.path) == shape(real_stages["reference"])
    for name, step in record.steps.items():
        # the values arrive typed as declared (KFP carries [16] as [16.0])
        assert step.parameters == reference.steps[name].parameters, name
        assert set(step.artifacts) == set(reference.steps[name].artifacts)
    assert record.steps["02_train"].parameters["hidden_units"] == \
        real_stages["small"]["02_train"]["hidden_units"]
    output, _ = step_outputs(real_stages["kfp_root"], "stage-02-train")
    (metrics,) = output["artifacts"]["metrics"]["artifacts"]
    numbers = {k: float(v) for k, v in record.steps["02_train"].metrics.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    assert metrics["metadata"] == numbers and "val_auc" in numbers


@pytest.mark.slow
def test_the_data_validation_gate_fails_the_pipeline_at_its_step(real_stages, tmp_path):
    proc = run_local(real_stages["root"] / "pipeline.yaml", tmp_path / "kfp-root",
                     workbench_project=str(real_stages["root"]),
                     data_validation__rows=real_stages["small"]["01_data_validation"]["rows"],
                     data_validation__faults=["negative_ages"])
    assert proc.returncode != 0
    log = log_of(proc)
    assert "gate 'data_validation' of stage 01_data_validation failed" in log
    assert "customer_age" in log and "below the schema minimum" in log
    assert "Task 'stage-01-data-validation' finished with status FAILURE" in log
    assert "Task 'stage-02-train'" not in log  # the pipeline stopped at the gate
    _, summary = step_outputs(tmp_path / "kfp-root", "stage-01-data-validation")
    assert "**data_validation**: FAILED" in summary and "customer_age" in summary
    assert "step state: gate_failed (exit code 3)" in summary
    run = RunStore(real_stages["root"] / "runs").runs()[-1]
    assert run.record().state == "gate_failed"
    assert list(run.record().steps) == ["01_data_validation"]
    assert run.record().steps["01_data_validation"].state == "gate_failed"


_AS_ANOTHER_USER = textwrap.dedent('''
    import os, sys
    from workbench.errors import ConfigError
    from workbench.pipeline.kubeflow_step import check_shared_folder
    if os.getuid() == 0:  # root writes anywhere: check as an unprivileged user
        os.setgid(65534)
        os.setuid(65534)
    try:
        check_shared_folder(sys.argv[1])
    except ConfigError as err:
        print(err)
        sys.exit(1)
    ''')


def test_a_shared_folder_the_step_cannot_write_is_named():
    import tempfile

    # a folder others can enter but not write (the pytest folders of root are private)
    folder = Path(tempfile.mkdtemp(prefix="read-only-project-", dir="/tmp"))
    try:
        folder.chmod(0o555)
        proc = subprocess.run([sys.executable, "-c", _AS_ANOTHER_USER, str(folder)],
                              capture_output=True, text=True, timeout=60, cwd="/")
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert f"the project folder {folder} is not writable by this step" in proc.stdout
        assert "mount the shared volume read-write" in proc.stdout
    finally:
        folder.chmod(0o755)
        folder.rmdir()
