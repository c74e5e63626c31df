"""The project's pipeline compiled for Kubeflow Pipelines (KFP v2 YAML, also for Vertex AI).

One KFP step per stage, each a lightweight Python component whose function calls
:func:`workbench.pipeline.kubeflow_step.run_step`, which runs ``workbench run --only STAGE
--resume RUN`` on the project folder of a shared volume. What carries over from the workbench
pipeline:

- **stages and order**: each step runs after the steps of its ``needs`` and after the stage
  before it: one process at a time executes a workbench run (its owner lock), so the steps
  run in the pipeline's order even where ``needs`` would allow two at once;
- **parameters**: every declared parameter of every stage is a pipeline parameter named
  ``<stage>__<name>`` (the stage's short name: ``train__epochs``) with its KFP type (str, int,
  float, bool, list, dict) and the project's value (``workbench.yaml``, ``--params``, ``-p``)
  as its default; a type KFP cannot carry is refused here, naming stage, parameter and fix;
- **the run**: pipeline parameter ``workbench_run`` (default empty: ``kfp-<KFP run id>``, so a
  retried KFP run continues its workbench run and skips finished steps);
- **caching**: the workbench's own fingerprint cache decides (stage ``cache``; pipeline
  parameter ``workbench_force`` executes every stage). KFP's cache is off for every step: a
  step's results live on the shared volume, which KFP's cache cannot see;
- **the shared volume**: ``kfp.kubernetes.mount_pvc`` mounts the PersistentVolumeClaim at the
  project folder (pipeline parameter ``workbench_project``, default the mount path).

A KFP lightweight component is a Python function whose source the YAML embeds and whose
signature is the step's interface. A stage's inputs are its declared parameters, so the function
of each stage is generated from the declaration (:func:`_stage_function`).
"""

from __future__ import annotations

import keyword
import linecache
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError, ParameterError
from workbench.params import Parameter
from workbench.pipeline.params import plain, resolve_parameters
from workbench.pipeline.spec import RESERVED_PARAMETERS, Pipeline, Stage
from workbench.project import Project

__all__ = ["DEFAULT_IMAGE", "DEFAULT_MOUNT_PATH", "DEFAULT_PVC", "KFP_TYPES", "CompiledPipeline",
           "compile_pipeline", "pipeline_parameter_name"]

log = logging.getLogger(__name__)

#: the workbench image (docker/workbench/Dockerfile, tagged as in docker/compose.yaml)
DEFAULT_IMAGE = "tf-workbench:0.1.0"
#: the shared volume of docker/serving/kubernetes/workbench-storage.yaml
DEFAULT_PVC = "workbench-shared"
#: where every workbench pod mounts it (WORKBENCH_HOME of the image)
DEFAULT_MOUNT_PATH = "/work"

#: a declared parameter's kind → the Python annotation KFP maps to its parameter type
KFP_TYPES: dict[type, type] = {str: str, int: int, float: float, bool: bool, list: list,
                               dict: dict}
#: inputs every step has besides the stage's parameters
_STEP_INPUTS = ("workbench_project", "workbench_run", "workbench_force", "workbench_job")
_STEP_OUTPUTS = ("metrics", "summary")


def _kfp() -> Any:
    try:
        import kfp.compiler
        import kfp.dsl
        import kfp.kubernetes  # the kfp-kubernetes distribution
    except ImportError as err:
        raise ConfigError(f"compiling for Kubeflow Pipelines needs the kfp SDK ({err})",
                          hint="pip install 'tf-workbench[kubeflow]'") from err
    return kfp.dsl, kfp.compiler, kfp.kubernetes


def _identifier(text: str) -> str:
    name = re.sub(r"\W", "_", text)
    return f"s{name}" if name[:1].isdigit() else name


def pipeline_parameter_name(stage: Stage, parameter: str) -> str:
    """The pipeline parameter of one stage parameter: ``train__epochs``."""
    return f"{_identifier(stage.short)}__{parameter}"


def _kfp_type(stage: Stage, param: Parameter) -> type:
    kind = param.kind
    if kind not in KFP_TYPES:  # None: a notebook default of None, or a union declared
        shown = param.type_name or type(param.default).__name__
        raise ParameterError(
            f"stage {stage.name}: parameter '{param.name}' has type {shown} (default "
            f"{param.default!r}), which a Kubeflow Pipelines parameter cannot carry",
            hint=f"KFP parameters are str, int, float, bool, list or dict: give '{param.name}' "
            "a default of one of those types in the notebook's parameters cell (\"\" or 0 "
            "for 'not set'), or declare it with one of them in the stage's StageParams",
            stage=stage.name, parameter=param.name)
    return KFP_TYPES[kind]


@dataclass(frozen=True)
class _StageInputs:
    stage: Stage
    #: parameter name → (KFP type, default for this project)
    parameters: dict[str, tuple[type, Any]]


@dataclass(frozen=True)
class CompiledPipeline:
    path: Path
    stages: list[str]
    #: pipeline parameter name → (type, default)
    parameters: dict[str, tuple[type, Any]]


def _stage_inputs(pipeline: Pipeline, overrides: dict[str, dict[str, Any]]) -> list[_StageInputs]:
    out, seen = [], {}
    for stage in pipeline.stages:
        values = {n: p.default for n, p in stage.declared_parameters().items()}
        values.update(plain(overrides.get(stage.name, {})))
        params = {}
        for name, param in stage.declared_parameters().items():
            if name in RESERVED_PARAMETERS:
                continue
            if name in _STEP_INPUTS or name in _STEP_OUTPUTS or keyword.iskeyword(name):
                raise ParameterError(
                    f"stage {stage.name}: parameter '{name}' has a name the compiled step uses "
                    "for itself", hint="rename the parameter in the stage's notebook",
                    stage=stage.name, parameter=name)
            params[name] = (_kfp_type(stage, param), values[name])
        key = _identifier(stage.short)
        if key in seen:
            raise ConfigError(f"stages {seen[key]} and {stage.name} both give pipeline "
                              f"parameters the prefix '{key}__'",
                              hint="rename one of the stages in workbench.yaml")
        seen[key] = stage.name
        out.append(_StageInputs(stage, params))
    return out


_FUNCTION = '''def {func}({signature}) -> None:
    """Stage {stage} of the workbench pipeline: workbench run --only {stage} --resume RUN."""
    from workbench.pipeline.kubeflow_step import run_step

    run_step(stage={stage!r}, stages={stages!r}, project=workbench_project,
             run=workbench_run, job_id=workbench_job, force=workbench_force,
             values={{{values}}}, metrics=metrics, summary=summary)
'''


def _stage_function(inputs: _StageInputs, stages: list[str]) -> Callable[..., None]:
    """The component function of one stage, with the stage's parameters as typed inputs.

    KFP embeds a component function's source (``inspect.getsource``); the source of a
    generated function is registered with :mod:`linecache`, which ``inspect`` reads."""
    from kfp.dsl import Markdown, Metrics, Output

    func = "stage_" + re.sub(r"\W", "_", inputs.stage.name)
    signature = ", ".join(
        ["metrics: Output[Metrics]", "summary: Output[Markdown]", "workbench_project: str",
         "workbench_run: str", "workbench_job: str", "workbench_force: bool"]
        + [f"{name}: {kind.__name__}" for name, (kind, _) in inputs.parameters.items()])
    values = ", ".join(f"{name!r}: {name}" for name in inputs.parameters)
    source = _FUNCTION.format(func=func, signature=signature, stage=inputs.stage.name,
                              stages=stages, values=values)
    filename = f"<workbench kubeflow step {inputs.stage.name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": __name__, "Output": Output, "Metrics": Metrics,
                                 "Markdown": Markdown}
    # dont_inherit: KFP reads real annotations, not the strings this module's __future__ makes
    exec(compile(source, filename, "exec", dont_inherit=True), namespace)  # noqa: S102
    return namespace[func]


def _pipeline_function(stage_inputs: list[_StageInputs], components: dict[str, Any],
                       *, pvc: str, mount_path: str) -> tuple[Callable[..., None],
                                                              dict[str, tuple[type, Any]]]:
    import inspect

    dsl, _, kubernetes = _kfp()
    parameters: dict[str, tuple[type, Any]] = {
        "workbench_project": (str, mount_path), "workbench_run": (str, ""),
        "workbench_force": (bool, False)}
    for inputs in stage_inputs:
        for name, typed in inputs.parameters.items():
            parameters[pipeline_parameter_name(inputs.stage, name)] = typed
    names = list(parameters)

    def body(*channels: Any) -> None:
        given = dict(zip(names, channels, strict=True))
        tasks: dict[str, Any] = {}
        previous = None
        for inputs in stage_inputs:
            stage = inputs.stage
            task = components[stage.name](
                workbench_project=given["workbench_project"],
                workbench_run=given["workbench_run"], workbench_force=given["workbench_force"],
                workbench_job=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
                **{n: given[pipeline_parameter_name(stage, n)] for n in inputs.parameters})
            task.set_display_name(stage.name)
            task.set_caching_options(False)
            after = [tasks[n] for n in stage.needs]
            if previous is not None and previous not in after:
                after.append(previous)
            if after:
                task.after(*after)
            kubernetes.mount_pvc(task, pvc_name=pvc, mount_path=mount_path)
            tasks[stage.name] = task
            previous = task

    body.__signature__ = inspect.Signature([  # type: ignore[attr-defined]
        inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d, annotation=t)
        for n, (t, d) in parameters.items()])
    return body, parameters


def compile_pipeline(project: Project, out: str | Path, *, image: str = DEFAULT_IMAGE,
                     pvc: str = DEFAULT_PVC, mount_path: str = DEFAULT_MOUNT_PATH,
                     including: tuple[str, ...] = (),
                     params_file: dict[str, Any] | None = None,
                     assignments: dict[str, Any] | None = None) -> CompiledPipeline:
    """Compile the project's pipeline (with the optional stages ``including``) to KFP YAML."""
    dsl, compiler, _ = _kfp()
    if not mount_path.startswith("/"):
        raise ConfigError(f"the mount path '{mount_path}' is not an absolute path",
                          hint="pass --mount-path /work (the image's WORKBENCH_HOME)")
    pipeline = Pipeline.for_project(project)
    if including:
        pipeline = pipeline.including(including)
    overrides = resolve_parameters(pipeline, pipeline.stages, params_file=params_file,
                                   assignments=assignments)
    stage_inputs = _stage_inputs(pipeline, overrides)
    names = pipeline.names
    components = {
        inputs.stage.name: dsl.component(_stage_function(inputs, names), base_image=image,
                                         install_kfp_package=False)
        for inputs in stage_inputs}
    body, parameters = _pipeline_function(stage_inputs, components, pvc=pvc,
                                          mount_path=mount_path)
    body.__name__ = "tf_workbench"
    body.__doc__ = (f"TF Workbench pipeline of {project.root.name}: "
                    f"{' -> '.join(names)}; each step runs workbench run --only STAGE "
                    "--resume RUN on the shared project folder.")
    pipeline_func = dsl.pipeline(name="tf-workbench")(body)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(pipeline_func, package_path=str(path))
    log.info("compiled %d stages to %s", len(names), path)
    return CompiledPipeline(path, names, parameters)
