"""Evidence for anomaly messages: exact counts and the first rows where a problem shows.

Statistics say *that* values fall outside the schema; the data says *how many* and *where*.
:class:`Evidence` answers those questions from the table the statistics describe (when the caller
has it), so a message can read "52 of 3,000 values (1.7 %) are below the schema minimum 18;
the lowest is -98 (first rows: 4, 97, 130)". Rows are 0-based positions in that table.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from workbench.data.partial import is_list_type

__all__ = ["Evidence"]


class Evidence:
    """Exact counts and example rows from ``data``; every answer is empty without data."""

    def __init__(self, data: pa.Table | None, source: str = "the data", max_rows: int = 5):
        self.data = data
        self.source = source
        self.max_rows = max_rows

    def _column(self, name: str) -> pa.ChunkedArray | None:
        if self.data is None or name not in self.data.column_names:
            return None
        return self.data.column(name)

    def _first(self, mask: pa.ChunkedArray | pa.Array) -> list[int]:
        rows = pc.indices_nonzero(pc.fill_null(mask, False))
        return rows.slice(0, self.max_rows).to_pylist()

    def _values(self, column: pa.ChunkedArray) -> tuple[pa.Array, pa.Array | None]:
        """Flat values and, for list columns, the row each value belongs to."""
        if is_list_type(column.type):
            arr = column.combine_chunks()
            return pc.list_flatten(arr), pc.list_parent_indices(arr)
        return column.combine_chunks(), None

    def missing_rows(self, name: str) -> list[int]:
        column = self._column(name)
        if column is None:
            return []
        missing = pc.is_null(column, nan_is_null=True) if pa.types.is_floating(column.type) \
            else pc.is_null(column)
        return self._first(missing)

    def rows_not_in(self, name: str, valid: set[str]) -> list[int]:
        column = self._column(name)
        if column is None:
            return []
        values, parents = self._values(column)
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            return []
        odd = pc.and_(pc.is_valid(values),
                      pc.invert(pc.is_in(values, value_set=pa.array(sorted(valid),
                                                                    type=values.type))))
        return self._rows(odd, parents)

    def count_outside(self, name: str, side: str, bound: float) -> tuple[int | None, list[int]]:
        """How many values lie below ``bound`` (side ``min``) or above it (``max``)."""
        column = self._column(name)
        if column is None:
            return None, []
        values, parents = self._values(column)
        if not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
            return None, []
        scalar = pa.scalar(bound, pa.float64())
        outside = pc.less(values, scalar) if side == "min" else pc.greater(values, scalar)
        count = int(pc.sum(pc.fill_null(outside, False)).as_py() or 0)
        return count, self._rows(outside, parents)

    def _rows(self, mask: pa.Array, parents: pa.Array | None) -> list[int]:
        if parents is None:
            return self._first(mask)
        hits = pc.indices_nonzero(pc.fill_null(mask, False))
        rows = pc.unique(pc.take(parents, hits)).slice(0, self.max_rows)
        return rows.to_pylist()
