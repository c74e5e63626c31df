"""One registry shape for every pluggable axis (artifact kinds, datasets, model builders,
serving targets …): ``register(name, impl)`` and a lookup that fails naming what exists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from workbench.errors import ConfigError

__all__ = ["Registry"]

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
