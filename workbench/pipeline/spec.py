"""Pipelines: an ordered list of stage notebooks with parameters.

The default pipeline ships in the package (``default.yaml``); the project's ``workbench.yaml`` can
replace the stage list (a bare stage name keeps that default stage) and set parameters.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from workbench.errors import ConfigError, ParameterError
from workbench.params import Parameter, StageParams
from workbench.project import Project, load_yaml_mapping
from workbench.registry import load_object

__all__ = ["RESERVED_PARAMETERS", "Parameter", "Pipeline", "Stage", "notebook_parameters",
           "package_notebook"]

#: Injected by the runner into every stage; users cannot set them.
RESERVED_PARAMETERS = StageParams.RESERVED


def package_notebook(name: str) -> Path:
    """Path of a stage notebook shipped with the workbench."""
    path = Path(str(resources.files("workbench.notebooks") / name))
    if not path.is_file():
        have = sorted(p.name for p in path.parent.glob("*.ipynb"))
        raise ConfigError(f"the workbench ships no notebook '{name}'",
                          hint=f"shipped notebooks: {', '.join(have)}")
    return path


@functools.lru_cache(maxsize=64)
def _inspect_cached(path: str, mtime_ns: int) -> dict[str, Parameter]:
    import papermill

    try:
        found = papermill.inspect_notebook(path)
    except Exception as err:  # papermill raises plain exceptions for unreadable notebooks
        raise ConfigError(f"cannot read the parameters of notebook {path}: {err}",
                          hint="check that it is a valid .ipynb file", file=path) from err
    out = {}
    for name, info in found.items():
        try:
            default = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError) as err:
            raise ConfigError(
                f"parameter '{name}' of {path} has a default that is not a literal: "
                f"{info['default']}",
                hint="parameters cells hold literal defaults only; compute derived values in "
                "a later cell", file=path) from err
        out[name] = Parameter.inferred(name, info["inferred_type_name"], default,
                                       info.get("help", ""))
    return out


def notebook_parameters(path: Path) -> dict[str, Parameter]:
    """The parameters a notebook's ``parameters`` cell declares, with literal defaults."""
    return _inspect_cached(str(path), path.stat().st_mtime_ns)


@dataclass(frozen=True)
class Stage:
    name: str
    notebook: Path
    needs: tuple[str, ...] = ()
    cache: bool = True
    parameters: dict[str, Any] = field(default_factory=dict)
    #: ``module:function`` adding to the cache key what a stage reads besides its inputs
    #: (e.g. a baseline from other runs); called as ``f(run, stage_name, parameters)``.
    fingerprint_hook: str | None = None
    #: ``module:Class`` of the stage's parameter declaration (a StageParams subclass); None:
    #: the notebook's parameters cell is the declaration (a user's own notebook)
    params: str | None = None

    @property
    def short(self) -> str:
        head, _, tail = self.name.partition("_")
        return tail if head.isdigit() and tail else self.name

    @property
    def number(self) -> str | None:
        head, _, tail = self.name.partition("_")
        return head if head.isdigit() and tail else None

    def matches(self, ref: str) -> bool:
        if ref in (self.name, self.short):
            return True
        return self.number is not None and ref.isdigit() and int(ref) == int(self.number)

    @property
    def declaration(self) -> type[StageParams] | None:
        """The stage's parameter declaration, when it has one."""
        if self.params is None:
            return None
        cls = load_object(self.params, what=f"parameter declaration of stage {self.name}")
        if not (isinstance(cls, type) and issubclass(cls, StageParams)):
            raise ConfigError(f"stage {self.name}: params '{self.params}' is not a StageParams "
                              "class", hint="name a subclass of workbench.params.StageParams")
        return cls

    def declared_parameters(self) -> dict[str, Parameter]:
        """Every parameter the stage takes: its declaration's, else its notebook's cell's."""
        declaration = self.declaration
        if declaration is not None:
            return declaration.parameters()
        return notebook_parameters(self.notebook)

    def check_values(self, values: dict[str, Any]) -> None:
        """Run the declaration's checks on a full set of values (ranges, combinations), so a
        bad value is refused before a kernel starts."""
        declaration = self.declaration
        if declaration is None:
            return
        try:
            declaration(**values, step=self.name)
        except ParameterError as err:
            raise ParameterError(f"stage {self.name}: {err.message}", hint=err.hint,
                                 stage=self.name, **err.context) from None


@dataclass
class Pipeline:
    stages: list[Stage]
    parameters: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Pipeline:
        """The default pipeline: the shipped stages not marked ``optional``."""
        return cls([s for s, optional in _shipped() if not optional])

    @classmethod
    def optional_stages(cls) -> list[Stage]:
        """Shipped stages that run only when ``workbench.yaml`` lists them in ``stages``."""
        return [s for s, optional in _shipped() if optional]

    @classmethod
    def for_project(cls, project: Project) -> Pipeline:
        base = cls.default()
        config = project.config
        stages = base.stages
        if "stages" in config:
            defaults = {s.name: s for s in base.stages + cls.optional_stages()}
            stages = []
            for i, entry in enumerate(config["stages"]):
                if isinstance(entry, str) or set(entry) == {"name"}:
                    name = entry if isinstance(entry, str) else entry["name"]
                    if name not in defaults:
                        raise ConfigError(
                            f"{project.config_path}: stages[{i}] names '{name}', which is not a "
                            "default stage, and gives no notebook",
                            hint=f"default stages: {', '.join(defaults)}; or add notebook: PATH",
                            file=str(project.config_path))
                    stages.append(defaults[name])
                else:
                    stages.append(_stage(entry, project, i, config["stages"],
                                         defaults.get(entry["name"])))
        pipeline = cls(stages, dict(config.get("parameters", {})))
        pipeline._check()
        return pipeline

    def including(self, refs: list[str] | tuple[str, ...]) -> Pipeline:
        """This pipeline with the named optional stages switched on (``workbench run --with``):
        each goes right after the last stage it needs (02_tune before 02_train, 07_bulk_inference
        after 04_export), as TFX places its Tuner and BulkInferrer."""
        stages = list(self.stages)
        optional = {s.name: s for s in self.optional_stages()}
        for ref in refs:
            found = [s for s in optional.values() if s.matches(str(ref))]
            if len(found) != 1:
                raise ConfigError(f"'{ref}' is not an optional stage",
                                  hint=f"optional stages: {', '.join(optional)}")
            stage = found[0]
            if stage.name in [s.name for s in stages]:
                continue
            names = [s.name for s in stages]
            missing = [n for n in stage.needs if n not in names]
            if missing:
                raise ConfigError(f"optional stage {stage.name} needs {', '.join(missing)}, "
                                  "which this pipeline lacks",
                                  hint=f"stages of this pipeline: {', '.join(names)}")
            at = max((names.index(n) for n in stage.needs), default=-1) + 1
            stages.insert(at, stage)
        pipeline = Pipeline(stages, dict(self.parameters))
        pipeline._check()
        return pipeline

    def _check(self) -> None:
        seen: list[str] = []
        for stage in self.stages:
            if stage.name in seen:
                raise ConfigError(f"stage '{stage.name}' appears twice in the pipeline")
            for need in stage.needs:
                if need not in seen:
                    raise ConfigError(
                        f"stage '{stage.name}' needs '{need}', which is not an earlier stage",
                        hint=f"earlier stages: {', '.join(seen) or 'none'}")
            seen.append(stage.name)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def stage(self, ref: str) -> Stage:
        found = [s for s in self.stages if s.matches(str(ref))]
        if len(found) == 1:
            return found[0]
        raise ConfigError(f"unknown stage '{ref}'",
                          hint=f"stages of this pipeline: {', '.join(self.names)}")

    def select(self, *, start: str | None = None, stop: str | None = None,
               only: list[str] | None = None) -> list[Stage]:
        """Stages to execute: ``only`` these, or the range ``start``..``stop`` (inclusive)."""
        if only:
            if start or stop:
                raise ConfigError("--only cannot be combined with --from or --to")
            chosen = {self.stage(ref).name for ref in only}
            return [s for s in self.stages if s.name in chosen]
        names = self.names
        first = names.index(self.stage(start).name) if start else 0
        last = names.index(self.stage(stop).name) if stop else len(names) - 1
        if first > last:
            raise ConfigError(f"--from {start} comes after --to {stop}",
                              hint=f"stage order: {', '.join(names)}")
        return self.stages[first:last + 1]


def _shipped() -> list[tuple[Stage, bool]]:
    """Every stage of ``default.yaml``, and whether it is optional."""
    path = Path(str(resources.files("workbench.pipeline") / "default.yaml"))
    entries = load_yaml_mapping(path, "default pipeline")["stages"]
    return [(_stage(e, None, i, entries), bool(e.get("optional", False)))
            for i, e in enumerate(entries)]


def _stage(entry: dict[str, Any], project: Project | None, index: int,
           entries: list[Any], base: Stage | None = None) -> Stage:
    name = entry["name"]
    notebook_ref = entry.get("notebook")
    if notebook_ref is None:
        if base is None:
            raise ConfigError(f"stage '{name}' gives no notebook", hint="add notebook: PATH")
        notebook = base.notebook
    elif project is not None and (project.root / notebook_ref).is_file():
        notebook = (project.root / notebook_ref).resolve()
    elif "/" not in notebook_ref:
        notebook = package_notebook(notebook_ref)
    else:
        where = project.config_path if project else "default pipeline"
        raise ConfigError(f"{where}: notebook '{notebook_ref}' of stage '{name}' does not exist",
                          hint="give a path relative to workbench.yaml or a shipped notebook name")
    if "needs" in entry:
        needs = tuple(entry["needs"])
    elif base is not None:
        needs = base.needs
    else:
        needs = tuple((e if isinstance(e, str) else e["name"]) for e in entries[:index])
    params = {**(base.parameters if base else {}), **entry.get("parameters", {})}
    cache = entry.get("cache", base.cache if base else True)
    hook = entry.get("fingerprint_hook", base.fingerprint_hook if base else None)
    # a stage keeps its default declaration only with its default notebook
    declaration = entry.get("params", base.params if base and notebook_ref is None else None)
    return Stage(name, notebook, needs, cache, params, hook, declaration)
