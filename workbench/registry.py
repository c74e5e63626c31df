"""One registry shape for every pluggable axis (artifact kinds, datasets, model builders,
serving targets …): ``register(name, impl)`` and a lookup that fails naming what exists; and
:func:`load_object`, the one way a ``module:function`` reference (a user's builder, a
fingerprint hook) is imported."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from workbench.errors import ConfigError

__all__ = ["Registry", "load_object"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Named implementations of one kind of thing."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}

    def register(self, name: str, impl: T, *, replace: bool = False) -> T:
        if name in self._items and not replace:
            raise ConfigError(f"{self.what} '{name}' is already registered",
                              hint="pass replace=True to override it")
        self._items[name] = impl
        return impl

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.what} '{name}'",
                hint=f"use one of: {', '.join(sorted(self._items)) or '(none registered)'}",
            ) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))


def load_object(ref: str, *, what: str, **context: Any) -> Any:
    """The function ``ref`` (``package.module:function``) names, imported from the Python path.

    ``what`` names the reference in errors ("model builder", "fingerprint hook of stage
    02_train"); ``context`` fields (``parameter=``, ``stage=`` …) go on the
    :class:`~workbench.errors.ConfigError` raised when the reference is malformed, its module
    does not import, or the module has no such function."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"{what} '{ref}' is not a 'module:function' reference",
                          hint="write it as package.module:function, e.g. "
                          "'mypackage.models:build'", **context)
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # an import runs arbitrary code; report whatever failed
        raise ConfigError(
            f"{what} '{ref}' cannot be imported: module '{module_name}' does not import "
            f"({type(err).__name__}: {err})",
            hint="check the module name and that its folder is on the Python path (the "
            "project folder is); the reference is 'module:function'", **context) from err
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part, None)
    if not callable(obj):
        have = sorted(n for n in dir(module)
                      if not n.startswith("_") and callable(getattr(module, n)))
        raise ConfigError(f"{what} '{ref}' cannot be imported: module '{module_name}' has no "
                          f"function '{attr}'",
                          hint=f"its functions: {', '.join(have) or 'none'}", **context)
    return obj
