"""The search space: which hyperparameters a builder has, their ranges, and checks.

The built-in builders (``linear``, ``dnn``, ``wide_and_deep``) share the trainer's
hyperparameters: learning rate, batch size and L2 for all, hidden units, dropout and the
embedding size for those with hidden layers. A ``module:function`` builder declares its own in
an attribute, each handed to it as ``spec.options[name]``::

    def two_towers(spec):
        ...
    two_towers.hyperparameters = {
        "tower_units": {"type": "int", "min": 16, "max": 128, "step": 16, "default": 32},
        "merge": {"type": "choice", "values": ["concat", "add"], "default": "concat"},
    }

The ``search_space`` parameter changes a range (``{"learning_rate": {"min": 1e-4, "max":
0.1}}``), adds one, or leaves one out (``{"dropout": null}``). Every range is checked before
the search starts: min below max, a log scale strictly above 0, a step that fits, choices that
exist.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workbench.errors import ParameterError

__all__ = ["Dimension", "TRAINER_PARAMETERS", "search_space"]

KINDS = ("int", "float", "choice", "bool")
#: hyperparameters that are TrainParams fields (the rest go to builder_options)
TRAINER_PARAMETERS = ("hidden_units", "learning_rate", "dropout", "l2", "embedding_dim",
                      "batch_size")

_COMMON: dict[str, dict[str, Any]] = {
    "learning_rate": {"type": "float", "min": 1e-4, "max": 3e-2, "log": True},
    "batch_size": {"type": "choice", "values": [64, 128, 256, 512]},
    "l2": {"type": "choice", "values": [0.0, 1e-5, 1e-4, 1e-3]},
}
_HIDDEN: dict[str, dict[str, Any]] = {
    # as text, "64,32" = two layers: KerasTuner's choices are scalars
    "hidden_units": {"type": "choice", "values": ["32", "64", "64,32", "128,64", "128,64,32"]},
    "dropout": {"type": "float", "min": 0.0, "max": 0.5, "step": 0.1},
    "embedding_dim": {"type": "choice", "values": [0, 4, 8, 16]},
}
BUILTIN = {"linear": _COMMON, "dnn": {**_HIDDEN, **_COMMON},
           "wide_and_deep": {**_HIDDEN, **_COMMON}}
EXAMPLE = ('build.hyperparameters = {"units": {"type": "int", "min": 16, "max": 128, '
           '"step": 16, "default": 32}}')


@dataclass(frozen=True)
class Dimension:
    """One hyperparameter: its kind, range or choices, and its default (the value a plain
    ``02_train`` would use)."""

    name: str
    kind: str
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    log: bool = False
    values: tuple[Any, ...] = ()

    @classmethod
    def parse(cls, name: str, spec: Mapping[str, Any], default: Any, where: str
              ) -> Dimension:
        def bad(why: str, fix: str) -> ParameterError:
            return ParameterError(f"{where}: hyperparameter '{name}' {why}", hint=fix,
                                  parameter="search_space")

        if not isinstance(spec, Mapping):
            raise bad(f"is {spec!r}, not a mapping", 'e.g. {"type": "float", "min": 0.0, '
                      '"max": 0.5}')
        kind = spec.get("type") or ("choice" if "values" in spec else
                                    "int" if all(isinstance(spec.get(k), int)
                                                 for k in ("min", "max")) else "float")
        if kind not in KINDS:
            raise bad(f"has type {kind!r}", f"use one of: {', '.join(KINDS)}")
        unknown = sorted(set(spec) - {"type", "min", "max", "step", "log", "values",
                                      "default"})
        if unknown:
            raise bad(f"has unknown keys {unknown}", "keys: type, min, max, step, log, values, "
                      "default")
        default = spec.get("default", default)
        if kind == "bool":
            return cls(name, kind, bool(default) if default is not None else False)
        if kind == "choice":
            values = tuple(spec.get("values") or ())
            if not values:
                raise bad("lists no values", 'e.g. {"values": [64, 128, 256]}')
            if default is None:
                default = values[0]
            elif default not in values:  # 02_train's own value is always a candidate
                values = (default, *values)
            return cls(name, kind, default, values=values)
        lo, hi = spec.get("min"), spec.get("max")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)):
            raise bad(f"needs numeric min and max (got min={lo!r}, max={hi!r})",
                      'e.g. {"min": 0.0, "max": 0.5}')
        if lo > hi:
            raise bad(f"has min {lo:g} > max {hi:g}", "swap them, or set min below max")
        log = bool(spec.get("log", False))
        if log and lo <= 0:
            raise bad(f"is on a log scale from {lo:g}: a log scale cannot reach 0 or below",
                      f"set min above 0 (e.g. {hi / 1000:g}), or drop log: true")
        step = spec.get("step")
        if step is not None and (not isinstance(step, (int, float)) or step <= 0
                                 or step > hi - lo > 0):
            raise bad(f"has step {step!r}, which does not fit between {lo:g} and {hi:g}",
                      "use a positive step smaller than max - min, or none")
        if kind == "int" and not all(float(v).is_integer() for v in (lo, hi)):
            raise bad("is an int with fractional bounds", "use whole min and max, or type "
                      "float")
        if default is None:
            default = lo
        return cls(name, kind, default, lo, hi, step, log)

    def declare(self, hp: Any) -> None:
        """Declare on a ``keras_tuner.HyperParameters``, with the default first."""
        if self.kind == "bool":
            hp.Boolean(self.name, default=self.default)
        elif self.kind == "choice":
            hp.Choice(self.name, list(self.values), default=self.default)
        elif self.kind == "int":
            hp.Int(self.name, int(self.min), int(self.max), step=int(self.step or 1),
                   sampling="log" if self.log else "linear",
                   default=int(min(max(self.default, self.min), self.max)))
        else:
            hp.Float(self.name, float(self.min), float(self.max), step=self.step,
                     sampling="log" if self.log else "linear",
                     default=float(min(max(self.default, self.min), self.max)))

    def describe(self) -> str:
        if self.kind == "choice":
            return f"one of {list(self.values)}"
        if self.kind == "bool":
            return "true or false"
        scale = ", log scale" if self.log else ""
        step = f", step {self.step:g}" if self.step else ""
        return f"{self.min:g} to {self.max:g}{step}{scale}"


def _train_default(name: str, train: Mapping[str, Any]) -> Any:
    value = train.get(name)
    if name == "hidden_units" and isinstance(value, (list, tuple)):
        return ",".join(str(int(u)) for u in value)
    return value


def search_space(builder: str, overrides: Mapping[str, Any] | None,
                 train_values: Mapping[str, Any]) -> list[Dimension]:
    """The dimensions to search for ``builder``, with the defaults of ``02_train``'s values
    (so trial 0, the defaults, is what a plain ``02_train`` trains)."""
    from workbench.train.builders import get_builder

    if builder in BUILTIN:
        declared = copy.deepcopy(BUILTIN[builder])
        where = f"builder '{builder}'"
    else:
        fn = get_builder(builder)
        declared = copy.deepcopy(getattr(fn, "hyperparameters", None) or {})
        where = f"builder '{builder}'"
        if not declared:
            raise ParameterError(
                f"builder '{builder}' declares no hyperparameters, so there is nothing to tune",
                hint=f"give the function a `hyperparameters` attribute, e.g. {EXAMPLE} (the "
                "value arrives as spec.options['units']), or pass search_space",
                parameter="builder")
        if not isinstance(declared, Mapping):
            raise ParameterError(f"builder '{builder}': hyperparameters is "
                                 f"{type(declared).__name__}, not a mapping",
                                 hint=f"e.g. {EXAMPLE}", parameter="builder")
        declared = {**{k: v for k, v in _COMMON.items()}, **declared}
    for name, spec in (overrides or {}).items():
        if spec is None or spec is False:
            declared.pop(name, None)
        elif isinstance(spec, Mapping) and name in declared and "type" not in spec:
            base = dict(declared[name])
            if "values" in spec:
                base = {k: v for k, v in base.items() if k not in ("min", "max", "step",
                                                                    "log")}
                base["type"] = "choice"
            declared[name] = {**base, **spec}
        else:
            declared[name] = spec
    dims = []
    options = train_values.get("builder_options") or {}
    for name, spec in declared.items():
        default = _train_default(name, train_values) if name in TRAINER_PARAMETERS \
            else options.get(name)
        dims.append(Dimension.parse(name, spec, default, where))
    if not dims:
        raise ParameterError(f"the search space of builder '{builder}' is empty (search_space "
                             "left every hyperparameter out)",
                             hint="keep at least one, e.g. search_space={}",
                             parameter="search_space")
    return dims


def train_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A trial's values as TrainParams fields and builder options."""
    fields, options = {}, {}
    for name, value in values.items():
        if name.startswith("tuner/"):
            continue
        if name == "hidden_units":
            fields[name] = [int(u) for u in str(value).split(",") if u.strip()]
        elif name in TRAINER_PARAMETERS:
            fields[name] = value
        else:
            options[name] = value
    return fields, options
