"""One ranking of values by how often they occur, for every "top N" the workbench picks: the
slices it computes statistics or metrics of, the top values of a string feature."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

__all__ = ["most_frequent"]

K = TypeVar("K", bound=Hashable)


def most_frequent(counts: Mapping[K, float] | Iterable[tuple[K, float]],
                  limit: int | None = None, *, key: Callable[[K], Any] | None = None
                  ) -> list[tuple[K, float]]:
    """``(value, count)`` pairs, the highest count first; equal counts in ascending order of
    the value (or of ``key(value)``), so which values make the top ``limit`` never depends on
    the order the data came in. All pairs when ``limit`` is None."""
    pairs = counts.items() if isinstance(counts, Mapping) else counts
    if key is None:
        ranked = sorted(pairs, key=lambda kv: (-kv[1], kv[0]))
    else:
        ranked = sorted(pairs, key=lambda kv: (-kv[1], key(kv[0])))
    return ranked if limit is None else ranked[:limit]
