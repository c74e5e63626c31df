"""Stage parameters, declared once.

Each stage declares its parameters in one frozen dataclass, a subclass of :class:`StageParams`:
name, type (the annotation), default and a one-line help, with :func:`param`. Everything else
reads that declaration: the notebook's ``parameters`` cell is checked against it (one test for
every stage, and :func:`parameters_cell` renders the cell), the runner refuses unknown names and
wrong types before a kernel starts, ``workbench stages`` lists it, and the notebook hands the
stage function one object::

    params = TrainParams.from_namespace(globals())   # the parameters cell's values, checked
    ctx = wb.open_step(params)
    result = train(ctx, params)

In JupyterLab a user edits a value in the parameters cell and runs the notebook again;
``from_namespace`` picks the edited value up and checks it like the runner does.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from workbench.errors import ParameterError

__all__ = ["Parameter", "StageParams", "literal", "param", "parameters_cell"]

_KIND_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
               list: "a list", dict: "a mapping"}


@dataclass(frozen=True)
class Parameter:
    """One declared parameter (also what a notebook's ``parameters`` cell yields)."""

    name: str
    type_name: str
    default: Any
    help: str
    kind: type | None = None  # bool, int, float, str, list or dict; None: anything
    item: type | None = None  # the element type of a list, when declared
    choices: tuple[Any, ...] | None = None

    @classmethod
    def inferred(cls, name: str, type_name: str, default: Any, help: str) -> Parameter:
        """A parameter known only from a notebook cell: its type is its default's."""
        kind = next((k for k in _KIND_NAMES if type(default) is k), None)
        if isinstance(default, tuple):
            kind = list
        return cls(name, type_name, default, help, kind)

    @property
    def kind_name(self) -> str:
        base = _KIND_NAMES.get(self.kind, "a value") if self.kind else "a value"
        if self.kind is list and self.item in _KIND_NAMES:
            base += f" of {_KIND_NAMES[self.item].removeprefix('an ').removeprefix('a ')}s"
        return base

    def example(self) -> str:
        if self.choices:
            return str(self.choices[0])
        default = self.default
        if isinstance(default, bool):
            return "true" if default else "false"
        if isinstance(default, (list, tuple)):
            return "[" + ",".join(str(x) for x in default) + "]"
        return str(default) if default != "" else '""'

    def coerce(self, value: Any, raw_text: str | None = None) -> Any:
        """``value`` as this parameter's type, or a ParameterError saying what it takes.
        ``raw_text``: the text a command-line value was parsed from (a string parameter given
        ``-p label=1`` gets ``"1"``)."""
        if value is None or self.kind is None:
            return value
        out, ok = _coerce(self.kind, value, raw_text)
        if ok and self.kind is list and self.item is not None:
            items = [_coerce(self.item, x, None) for x in out]
            ok = all(good for _, good in items)
            out = [x for x, _ in items]
        if not ok:
            raise ParameterError(
                f"parameter '{self.name}' takes {self.kind_name} (default {self.default!r}); "
                f"got {value!r}",
                hint=f"pass {self.kind_name}, e.g. -p {self.name}={self.example()}",
                parameter=self.name)
        if self.choices and out not in self.choices:
            raise ParameterError(
                f"parameter '{self.name}' is {out!r}; it takes one of: "
                f"{', '.join(map(repr, self.choices))}",
                hint=f"e.g. -p {self.name}={self.example()}", parameter=self.name)
        return out


def _coerce(kind: type, value: Any, raw_text: str | None) -> tuple[Any, bool]:
    if kind is bool:
        return value, isinstance(value, bool)
    if kind is int:
        return value, isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        if isinstance(value, str):  # YAML 1.1 reads "1e-5" (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                return value, False
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return (float(value) if ok else value), ok
    if kind is str:
        if isinstance(value, str):
            return value, True
        if raw_text is not None:
            return raw_text, True
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value), True
        return value, False
    if kind is list:
        return (list(value), True) if isinstance(value, (list, tuple)) else (value, False)
    if kind is dict:
        return value, isinstance(value, dict)
    return value, isinstance(value, kind)


def param(default: Any, help: str, *, choices: tuple[Any, ...] | list[Any] | None = None
          ) -> Any:
    """Declare a parameter: its literal default and a one-line help (``choices``: the values
    it may take)."""
    meta = {"help": help, "default": copy.deepcopy(default),
            "choices": tuple(choices) if choices else None}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


def _kinds(annotation: Any) -> tuple[type | None, type | None]:
    origin = typing.get_origin(annotation) or annotation
    if origin in (list, tuple):
        args = typing.get_args(annotation)
        item = args[0] if args and args[0] in _KIND_NAMES else None
        return list, item
    if origin in _KIND_NAMES:
        return origin, None
    return None, None


@dataclass(frozen=True, kw_only=True)
class StageParams:
    """The parameters of a stage notebook. Subclasses declare theirs with :func:`param`, set
    ``STAGE`` (the default step name, which their ``step`` default repeats) and may override
    :meth:`check` for checks across values or ranges."""

    STAGE: ClassVar[str] = ""

    run_dir: str = param("", "run folder; empty: the latest run (or a new one)")
    step: str = param("", "step name inside the run")
    mode: str = param("compute", '"compute" runs the stage; "view" shows a finished step '
                      "read-only", choices=("compute", "view"))

    #: injected by the runner into every stage; users cannot set them
    RESERVED: ClassVar[tuple[str, ...]] = ("run_dir", "step", "mode")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # every declaration is a frozen dataclass without having to say so
        super().__init_subclass__(**kwargs)
        dataclass(frozen=True, kw_only=True)(cls)

    def __post_init__(self) -> None:
        declared = self.parameters()
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, declared[f.name].coerce(getattr(self, f.name)))
        self.check()

    def check(self) -> None:
        """Checks beyond each value's type (ranges, combinations); raise ParameterError."""

    @classmethod
    def parameters(cls) -> dict[str, Parameter]:
        """Every declared parameter, in declaration order (``run_dir``, ``step``, ``mode``
        first)."""
        hints = typing.get_type_hints(cls)
        out = {}
        for f in dataclasses.fields(cls):
            kind, item = _kinds(hints[f.name])
            hint = hints[f.name]
            type_name = (hint.__name__ if isinstance(hint, type)
                         else str(hint).replace("typing.", ""))
            out[f.name] = Parameter(f.name, type_name, copy.deepcopy(f.metadata["default"]),
                                    f.metadata["help"], kind, item, f.metadata["choices"])
        return out

    @classmethod
    def from_namespace(cls, namespace: Mapping[str, Any]) -> Self:
        """The values of the declared names in ``namespace`` (a notebook's ``globals()``),
        checked. A name the namespace lacks is an error naming the parameters cell."""
        missing = [n for n in cls.parameters() if n not in namespace]
        if missing:
            raise ParameterError(
                f"the notebook's parameters cell does not define {', '.join(missing)} "
                f"({cls.__name__} declares them)",
                hint="run the parameters cell first, or restore it from the stage's "
                "declaration (workbench.params.parameters_cell)")
        return cls(**{n: copy.deepcopy(namespace[n]) for n in cls.parameters()})

    def values(self, *, reserved: bool = False) -> dict[str, Any]:
        """The values as plain data (without ``run_dir``, ``step`` and ``mode`` unless
        ``reserved``)."""
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in dataclasses.fields(self)
                if reserved or f.name not in self.RESERVED}

    def fail(self, name: str, why: str, fix: str) -> ParameterError:
        """A ParameterError for parameter ``name`` (for :meth:`check`)."""
        return ParameterError(f"parameter {name}={getattr(self, name)!r}: {why}", hint=fix,
                              parameter=name)


def literal(value: Any) -> str:
    """Python source for a literal default, with double-quoted strings as notebooks write."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def parameters_cell(params: type[StageParams]) -> str:
    """The source of a notebook's ``parameters`` cell for a declaration: one literal per line,
    its help as the comment (papermill reads both)."""
    return "\n".join(f"{p.name} = {literal(p.default)}  # {p.help}"
                     for p in params.parameters().values())
