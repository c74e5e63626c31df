"""Stage parameters: where values come from, and checking them against the notebooks.

Values are layered, later wins: the notebook's own default → the pipeline's stage parameters →
``workbench.yaml`` ``parameters`` (a plain key for every stage that declares it, a stage name for
one stage) → ``--params FILE`` (same shape) → ``-p key=value`` / ``-p stage.key=value``.
Every key must be declared by a ``parameters`` cell; a value must fit the type of its default.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import ParameterError
from workbench.params import Parameter
from workbench.pipeline.spec import RESERVED_PARAMETERS, Pipeline, Stage
from workbench.project import load_yaml_mapping

__all__ = ["effective_parameters", "parse_assignments", "plain", "read_params_file",
           "resolve_parameters"]

_RAW = "__raw_text__"


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """``["epochs=3", "train.lr=0.01"]`` → ``{"epochs": 3, "train": {"lr": 0.01}}``.

    Values are YAML scalars (``3``, ``0.5``, ``true``, ``[a, b]``); the text is kept too, so a
    string parameter given ``-p label=1`` gets ``"1"``.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ParameterError(f"'{item}' is not a parameter assignment",
                                 hint="write -p name=value, or -p stage.name=value")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
        entry = _Raw(value, text)
        if "." in key:
            scope, name = key.split(".", 1)
            out.setdefault(scope, {})[name] = entry
        else:
            out[key] = entry
    return out


class _Raw:
    """A value from the command line, with the text it came from."""

    __slots__ = ("text", "value")

    def __init__(self, value: Any, text: str) -> None:
        self.value = value
        self.text = text

    def __repr__(self) -> str:
        return repr(self.value)


def plain(value: Any) -> Any:
    """Unwrap command-line values (which remember their text) into plain data."""
    if isinstance(value, _Raw):
        return value.value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def read_params_file(path: str | Path) -> dict[str, Any]:
    return load_yaml_mapping(Path(path), "parameters file")


def _coerce(stage: Stage, param: Parameter, value: Any, source: str) -> Any:
    """The value as the declared type (a ParameterError names the stage and the source)."""
    raw_text = value.text if isinstance(value, _Raw) else None
    if isinstance(value, _Raw):
        value = value.value
    try:
        return param.coerce(value, raw_text)
    except ParameterError as err:
        raise ParameterError(f"stage {stage.name}: {err.message} ({source})", hint=err.hint,
                             stage=stage.name, parameter=param.name) from None


def _valid_list(stages: list[Stage]) -> str:
    lines = []
    for s in stages:
        names = [n for n in s.declared_parameters() if n not in RESERVED_PARAMETERS]
        lines.append(f"  {s.name}: {', '.join(names) or '(none)'}")
    return "\n".join(lines)


def _apply(layer: dict[str, Any], pipeline: Pipeline, targets: list[Stage],
           out: dict[str, dict[str, Any]], source: str) -> None:
    for key, value in layer.items():
        scoped = next((s for s in pipeline.stages if s.matches(key)), None)
        if scoped is not None and isinstance(value, dict):
            if scoped not in targets:
                if source.startswith("workbench.yaml"):
                    continue  # project values for a stage not executed now
                raise ParameterError(
                    f"parameters for stage {scoped.name} given ({source}), but that stage is "
                    "not being run",
                    hint=f"stages being run: {', '.join(s.name for s in targets)}")
            for name, v in value.items():
                _set(scoped, name, v, out, source, pipeline, targets)
            continue
        if key in RESERVED_PARAMETERS:
            raise ParameterError(f"'{key}' is set by the runner and cannot be given ({source})",
                                 hint="remove it; the runner injects run_dir, step and mode")
        users = [s for s in targets if key in s.declared_parameters()]
        if not users:
            owners = [s.name for s in pipeline.stages if key in s.declared_parameters()]
            if owners and source.startswith("workbench.yaml"):
                continue
            where = (f"it belongs to {', '.join(owners)}, which is not being run" if owners
                     else "no stage declares it")
            raise ParameterError(
                f"unknown parameter '{key}' ({source}): {where}.\n"
                f"Valid parameters:\n{_valid_list(targets)}",
                hint="use one of the names above, or stage.name=value for one stage",
                parameter=key)
        for stage in users:
            _set(stage, key, value, out, source, pipeline, targets)


def _set(stage: Stage, name: str, value: Any, out: dict[str, dict[str, Any]], source: str,
         pipeline: Pipeline, targets: list[Stage]) -> None:
    declared = stage.declared_parameters()
    if name in RESERVED_PARAMETERS:
        raise ParameterError(f"'{name}' is set by the runner and cannot be given ({source})")
    if name not in declared:
        raise ParameterError(
            f"stage {stage.name} has no parameter '{name}' ({source}).\n"
            f"Valid parameters:\n{_valid_list([stage])}",
            hint="check the spelling; `workbench stages` lists every parameter",
            stage=stage.name, parameter=name)
    out[stage.name][name] = _coerce(stage, declared[name], value, source)


def resolve_parameters(pipeline: Pipeline, targets: list[Stage], *,
                       params_file: dict[str, Any] | None = None,
                       assignments: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Overrides for each target stage (only values that differ from the notebook's source)."""
    out: dict[str, dict[str, Any]] = {s.name: {} for s in targets}
    for stage in targets:
        for name, value in stage.parameters.items():
            _set(stage, name, value, out, "pipeline definition", pipeline, targets)
    _apply(pipeline.parameters, pipeline, targets, out, "workbench.yaml parameters")
    if params_file:
        _apply(params_file, pipeline, targets, out, "--params file")
    if assignments:
        _apply(assignments, pipeline, targets, out, "-p")
    for stage in targets:  # ranges and combinations, before any kernel starts
        stage.check_values(effective_parameters(stage, out[stage.name]))
    return out


def effective_parameters(stage: Stage, overrides: dict[str, Any]) -> dict[str, Any]:
    """Every parameter of the stage with its value for this execution."""
    values = {n: p.default for n, p in stage.declared_parameters().items()
              if n not in RESERVED_PARAMETERS}
    values.update(overrides)
    return values
