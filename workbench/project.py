"""The project: the folder holding ``workbench.yaml`` and ``runs/``, and its declared settings.

The project folder is ``$WORKBENCH_HOME`` when set, else the nearest folder at or above the
current one that holds a ``workbench.yaml``, else the current folder. Every setting is declared
once, with its default and help, in :data:`CONFIG_SCHEMA`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastjsonschema
import yaml

from workbench.errors import ConfigError
from workbench.runs.store import RunStore

__all__ = ["CONFIG_FILE", "CONFIG_SCHEMA", "Project"]

CONFIG_FILE = "workbench.yaml"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"

_STAGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": _NAME,
                 "description": "stage name; also the name of its step folder in a run"},
        "notebook": {"type": "string",
                     "description": "a notebook shipped with the workbench (file name) or a path "
                                    "relative to workbench.yaml"},
        "needs": {"type": "array", "items": {"type": "string"},
                  "description": "stages whose artifacts this one reads (default: all earlier)"},
        "cache": {"type": "boolean",
                  "description": "reuse an earlier identical execution (default true)"},
        "parameters": {"type": "object", "description": "this stage's parameter values"},
        "fingerprint_hook": {"type": "string", "pattern": r"^[\w.]+:\w+$",
                             "description": "module:function whose result joins the cache key "
                                            "(what the stage reads from other runs)"},
    },
}

CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "runs_dir": {"type": "string", "default": "runs",
                     "description": "where runs are stored, relative to workbench.yaml"},
        "stages": {
            "type": "array",
            "description": "the pipeline, in order; a bare name keeps that default stage as is",
            "items": {"type": ["string", "object"]},  # a name, or a stage (checked below)
        },
        "parameters": {
            "type": "object",
            "description": "parameter values: a plain key applies to every stage that has the "
                           "parameter; a stage name maps to values for that stage only",
        },
        "execution": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "kernel_name": {"type": "string", "default": "python3",
                                "description": "Jupyter kernel that executes stage notebooks"},
                "kernel_start_timeout": {"type": "number", "exclusiveMinimum": 0,
                                         "default": 120,
                                         "description": "seconds to wait for a kernel to start"},
                "cell_timeout": {"type": ["number", "null"], "exclusiveMinimum": 0,
                                 "default": 3600,
                                 "description": "seconds one cell may run (null: no limit)"},
            },
        },
    },
}

EXECUTION_DEFAULTS = {
    key: spec["default"]
    for key, spec in CONFIG_SCHEMA["properties"]["execution"]["properties"].items()
}


def load_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping; errors name the file, line and fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read {what} {path}: {err.strerror}",
                          hint="check the path and its permissions", file=str(path)) from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError(f"{path} is not valid YAML{where}: {problem}",
                          hint="fix the syntax (indentation, colons, quotes)",
                          file=str(path)) from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of keys to values, "
                          f"found a {type(data).__name__}", file=str(path))
    return data


@dataclass
class Project:
    root: Path
    config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def find(cls, start: str | os.PathLike[str] | None = None) -> Project:
        home = os.environ.get("WORKBENCH_HOME")
        if home:
            return cls.load(Path(home))
        here = Path(start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_FILE).is_file():
                return cls.load(folder)
        return cls(here, {})

    @classmethod
    def load(cls, root: Path) -> Project:
        root = root.resolve()
        path = root / CONFIG_FILE
        config = load_yaml_mapping(path, "project configuration") if path.is_file() else {}
        validate_config(config, path)
        return cls(root, config)

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    def store(self) -> RunStore:
        return RunStore(self.root / self.config.get("runs_dir", "runs"))

    def execution(self) -> dict[str, Any]:
        return {**EXECUTION_DEFAULTS, **self.config.get("execution", {})}


_validate_config = fastjsonschema.compile(CONFIG_SCHEMA)
_validate_stage = fastjsonschema.compile(_STAGE)
_validate_name = fastjsonschema.compile({"type": "string", "pattern": _NAME})


def _problem(err: fastjsonschema.JsonSchemaValueException, prefix: str = "") -> str:
    where = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                             for p in err.path[1:])
    where = where.lstrip(".") or "(top level)"
    if err.rule == "additionalProperties" and isinstance(err.value, dict):
        allowed = err.definition.get("properties", {})
        extra = sorted(set(err.value) - set(allowed))
        return (f"{where}: unknown key(s) {', '.join(map(repr, extra))}; "
                f"known keys: {', '.join(allowed)}")
    if err.rule == "type":
        return f"{where}: {err.value!r} is not of type '{err.rule_definition}'"
    if err.rule == "pattern":
        return f"{where}: {err.value!r} is not a valid name (letters, digits, _ and -)"
    message = err.message.removeprefix(err.name).strip()
    return f"{where}: {err.value!r} {message}"


def validate_config(config: dict[str, Any], path: Path) -> None:
    """Check a workbench.yaml against :data:`CONFIG_SCHEMA`; the error names the key at fault.

    (fastjsonschema, not jsonschema: importing jsonschema here costs about two seconds with
    the format checkers Jupyter installs, and every CLI call would pay it.)"""
    checks = [(_validate_config, config, "")]
    for i, entry in enumerate(config.get("stages", [])
                              if isinstance(config.get("stages"), list) else []):
        checks.append((_validate_name if isinstance(entry, str) else _validate_stage, entry,
                       f"stages[{i}]"))
    for check, value, prefix in checks:
        try:
            check(value)
        except fastjsonschema.JsonSchemaValueException as err:
            raise ConfigError(f"{path} is not a valid workbench configuration:\n  "
                              f"{_problem(err, prefix)}",
                              hint="see README 'Configuration' for the keys and their types",
                              file=str(path)) from err
