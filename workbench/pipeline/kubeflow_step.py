"""What one step of the pipeline compiled for Kubeflow Pipelines does, inside its container.

Every step of the compiled pipeline (:mod:`workbench.pipeline.kubeflow`) calls :func:`run_step`:
it checks that the shared volume holding the project folder is there and writable, opens the
workbench run of this pipeline run (the first step creates it, as ``kfp-<KFP run id>`` unless
the pipeline's ``workbench_run`` parameter names one), records the stage's parameter values
(given as typed KFP inputs, checked against the stage's declaration) as the run's overrides for
that stage, and executes the stage with the real command::

    workbench run --only STAGE --resume RUN

Afterwards the step's metrics from the run record become the step's ``metrics`` artifact
(``kfp.dsl.Metrics``) and its gates, with their reasons, a Markdown ``summary`` artifact. A failed
gate (exit code 3) or a failed stage fails the step: the reasons are logged and raised.

This module does not import ``kfp``; the artifacts it receives are whatever objects the KFP
executor passes (they have ``path``, ``metadata`` and, for metrics, ``log_metric``).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from workbench.errors import (
    EXIT_GATE,
    ConfigError,
    GateFailed,
    NotARunError,
    RunStoreError,
    StageFailed,
)
from workbench.pipeline.environment import collect_environment
from workbench.pipeline.params import plain, resolve_parameters
from workbench.pipeline.spec import Pipeline
from workbench.project import Project
from workbench.runs.record import StepRecord
from workbench.runs.store import Run

__all__ = ["KFP_RUN_PREFIX", "check_shared_folder", "run_id_for", "run_step"]

log = logging.getLogger(__name__)

#: a run created by a KFP pipeline run is named after it: ``kfp-<pipeline job id>``
KFP_RUN_PREFIX = "kfp-"


def check_shared_folder(path: str | os.PathLike[str]) -> Path:
    """The project folder on the shared volume, or a ConfigError naming the path."""
    folder = Path(path)
    fix = ("mount the shared volume (the PersistentVolumeClaim of the compiled pipeline) at "
           "that path, or pass the project folder as the pipeline parameter workbench_project")
    if not folder.is_dir():
        raise ConfigError(f"the project folder {folder} does not exist in this step's "
                          "container: the shared volume is not mounted there", hint=fix,
                          path=str(folder))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"the project folder {folder} is not writable by this step "
                          f"(uid {os.getuid()})",
                          hint="mount the shared volume read-write, with an fsGroup or owner "
                          "the workbench user (uid 10001 in the image) can write", path=str(folder))
    return folder.resolve()


def run_id_for(run: str, job_id: str) -> str:
    """The workbench run of a pipeline run: the one named, else one per KFP run."""
    if run:
        return run
    if not job_id or job_id.startswith("{{"):
        raise ConfigError("this step got no KFP run id and no workbench_run parameter",
                          hint="pass workbench_run=RUN_ID to the pipeline")
    return KFP_RUN_PREFIX + job_id


def _pipeline(project: Project, stages: list[str]) -> Pipeline:
    """The project's pipeline with the compiled stages (optional ones switched on)."""
    pipeline = Pipeline.for_project(project)
    optional = [n for n in stages if n not in pipeline.names]
    if optional:
        pipeline = pipeline.including(optional)
    missing = [n for n in stages if n not in pipeline.names]
    if missing:
        raise ConfigError(f"the project in {project.root} has no stage {', '.join(missing)}, "
                          "which the compiled pipeline runs",
                          hint="compile the pipeline again from this project's workbench.yaml")
    return pipeline


def _open_or_create(project: Project, run_id: str, stages: list[str]) -> Run:
    store = project.store()
    try:
        return store.open(store.root / run_id)
    except NotARunError:
        pass
    try:
        run = store.create(run_id=run_id, pipeline=list(stages),
                           environment=collect_environment(project.root))
    except RunStoreError:  # another step created it a moment ago
        return store.open(store.root / run_id)
    run.set(selection=list(stages), overrides={})
    log.info("created run %s in %s", run.id, store.root)
    return run


def _whole_numbers(value: Any) -> Any:
    """A LIST or STRUCT value as it was given: KFP carries them as protobuf ``Value``s, whose
    numbers are doubles, so ``[16]`` arrives as ``[16.0]``. A whole number inside becomes an
    int again; a parameter declared float turns it back (the declaration coerces)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    return value


def _record_values(run: Run, pipeline: Pipeline, stage: str, values: dict[str, Any]) -> None:
    """Check the stage's values against its declaration and record them as its overrides."""
    values = {k: _whole_numbers(v) if isinstance(v, (list, dict)) else v
              for k, v in values.items()}
    overrides = resolve_parameters(pipeline, [pipeline.stage(stage)],
                                   params_file={stage: dict(values)})[stage]

    def change(record: Any) -> None:
        record.overrides = {**(record.overrides or {}),
                            stage: {k: plain(v) for k, v in overrides.items()}}
        record.parameters = {**record.parameters, stage: dict(values)}

    run.edit(change)


def _workbench_command() -> str:
    """The ``workbench`` script of this interpreter's environment (else the one on PATH)."""
    beside = Path(sys.executable).with_name("workbench")
    if beside.is_file():
        return str(beside)
    found = shutil.which("workbench")
    if found is None:
        raise ConfigError("the workbench command is not installed in this step's image",
                          hint="build the image from docker/workbench/Dockerfile")
    return found


def _numbers(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a step's metrics, with dotted names."""
    out: dict[str, float] = {}
    for name, value in metrics.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            out.update(_numbers(value, f"{key}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = float(value)
    return out


def _summary(run: Run, record: StepRecord | None, code: int) -> str:
    lines = [f"# {record.name if record else 'step'}", "",
             f"- workbench run: `{run.id}` ({run.path})",
             f"- step state: {record.state if record else 'not recorded'} (exit code {code})"]
    if record and record.notebook:
        lines.append(f"- executed notebook: {run.path / record.notebook}")
    if record and record.gates:
        lines += ["", "## Gates", ""]
        for gate in record.gates.values():
            lines.append(f"- **{gate.name}**: {'passed' if gate.passed else 'FAILED'}")
            lines += [f"  - {reason}" for reason in gate.reasons]
    if record and record.error:
        lines += ["", "## Error", "", f"{record.error.get('ename')}: {record.error.get('evalue')}"]
    return "\n".join(lines) + "\n"


def run_step(*, stage: str, stages: list[str], project: str, run: str, job_id: str,
             force: bool, values: dict[str, Any], metrics: Any, summary: Any) -> None:
    """Execute one stage of the compiled pipeline (see the module's docstring)."""
    root = check_shared_folder(project)
    os.environ["WORKBENCH_HOME"] = str(root)
    loaded = Project.load(root)
    pipeline = _pipeline(loaded, stages)
    run_obj = _open_or_create(loaded, run_id_for(run, job_id), stages)
    _record_values(run_obj, pipeline, stage, values)
    command = [_workbench_command(), "run", "--only", stage, "--resume", run_obj.id]
    if force:
        command.append("--force")
    log.info("%s: %s", stage, " ".join(command))
    sys.stdout.flush()
    code = subprocess.run(command, cwd=root, env={**os.environ, "WORKBENCH_HOME": str(root)},
                          check=False).returncode
    record = run_obj.step(stage)
    Path(summary.path).parent.mkdir(parents=True, exist_ok=True)
    Path(summary.path).write_text(_summary(run_obj, record, code), encoding="utf-8")
    for name, value in _numbers(record.metrics if record else {}).items():
        metrics.log_metric(name, value)
    if code == 0:
        return
    failed = record.failed_gates if record else {}
    if code == EXIT_GATE and failed:
        gate = next(iter(failed.values()))
        err: Exception = GateFailed(stage, gate.name, gate.reasons, run=run_obj.id)
    else:
        error = (record.error or {}) if record else {}
        what = f"{error.get('ename')}: {error.get('evalue')}" if error else "see the log above"
        err = StageFailed(f"stage {stage} failed (workbench exit code {code}): {what}",
                          stage=stage, run=run_obj.id)
    log.error("%s", err)
    raise err
