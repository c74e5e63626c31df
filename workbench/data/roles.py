"""Column roles: what each column is for, inferred with a reason, overridable.

Roles: ``numeric``, ``categorical``, ``datetime`` and ``text`` are features; ``id`` columns are
not features but can be the split key; ``ignore`` columns are dropped; the label column is
``label``. The rules, in order (the first that applies wins):

1. the ``feature_roles`` parameter (by original or safe name), then the label;
2. no value in any row, or one value on every row → ``ignore``;
3. a timestamp column → ``datetime`` (dates were parsed on reading; never an identifier);
4. named like an identifier (``id``, ``uuid``, ``*_id``, ``*_key``, ``*_no``, ``*_number`` …) →
   ``id``;
5. integers or single-word strings with a value of their own on every row (strings: on at least
   95 % of rows) → ``id``;
6. strings with many distinct values (at least half the rows) of several words (a median of
   :data:`TEXT_MIN_WORDS` or more) → ``text``;
7. other strings and booleans → ``categorical``; numbers → ``numeric``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from workbench.data.coltypes import ROLES
from workbench.data.names import ColumnName

__all__ = ["FEATURE_ROLES", "ROLES", "Role", "Roles", "infer_roles"]

FEATURE_ROLES = ("numeric", "categorical", "datetime", "text")
TEXT_MIN_WORDS = 4
NEAR_UNIQUE = 0.95
MIN_ROWS_FOR_ID = 20
_ID_NAME = re.compile(r"^(id|uuid|guid|pk|key)$|^(id|uuid|guid)_|_(id|uuid|guid|key|no|nr|"
                      r"number|ref)$")


@dataclass(frozen=True)
class Role:
    """A column's role, why, and whether it was guessed (False: given by a parameter)."""

    role: str
    reason: str
    guessed: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "reason": self.reason, "guessed": self.guessed}


@dataclass
class Roles:
    """Every column's role, by safe name, in column order."""

    roles: dict[str, Role]

    def __getitem__(self, name: str) -> Role:
        return self.roles[name]

    def of(self, *roles: str) -> list[str]:
        return [n for n, r in self.roles.items() if r.role in roles]

    @property
    def features(self) -> list[str]:
        return self.of(*FEATURE_ROLES)

    @property
    def ids(self) -> list[str]:
        return self.of("id")

    @property
    def dropped(self) -> dict[str, Role]:
        """Columns that are neither features nor the label, with the reason each."""
        return {n: r for n, r in self.roles.items() if r.role in ("id", "ignore")}

    def to_dict(self) -> dict[str, Any]:
        return {name: role.to_dict() for name, role in self.roles.items()}


def _guess(name: str, column: pa.ChunkedArray, rows: int) -> Role:
    present = rows - column.null_count
    if present == 0:
        return Role("ignore", f"no value in any of its {rows:,} rows")
    distinct = pc.count_distinct(column).as_py()
    if distinct == 1 and column.null_count == 0:
        return Role("ignore", f"constant: every row is {column[0].as_py()!r}")
    type_ = column.type
    if pa.types.is_timestamp(type_) or pa.types.is_date(type_):
        return Role("datetime", "dates and times (parsed on reading)")
    is_text = pa.types.is_string(type_) or pa.types.is_large_string(type_)
    if _ID_NAME.search(name) and (is_text or pa.types.is_integer(type_)):
        return Role("id", f"named like an identifier ({distinct:,} distinct values)")
    if pa.types.is_integer(type_) and distinct == present and present >= MIN_ROWS_FOR_ID:
        return Role("id", f"every one of its {present:,} values is different (like a row "
                    "number or reference)")
    if is_text:
        words = _median_words(column)
        if distinct >= present * 0.5 and words >= TEXT_MIN_WORDS:
            return Role("text", f"free text: {distinct:,} distinct values of {present:,}, "
                        f"{words:g} words in the middle one")
        if distinct >= present * NEAR_UNIQUE and present >= MIN_ROWS_FOR_ID and words <= 1:
            return Role("id", f"{distinct:,} distinct codes in {present:,} rows")
        return Role("categorical", f"text with {distinct:,} distinct values")
    if pa.types.is_boolean(type_):
        return Role("categorical", "two values (yes/no)")
    if pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_decimal(type_):
        return Role("numeric", f"numbers ({distinct:,} distinct values)")
    return Role("ignore", f"type {type_} is not a feature type")


def _median_words(column: pa.ChunkedArray, sample: int = 5000) -> float:
    values = column.drop_null().slice(0, sample)
    counts = pc.list_value_length(pc.utf8_split_whitespace(values))
    return float(pc.approximate_median(counts).as_py() or 0)


def infer_roles(data: Any, *, label: str | None = None,
                feature_roles: dict[str, str] | None = None,
                columns: list[ColumnName] | None = None) -> Roles:
    """The role of every column of a :class:`~workbench.data.reading.ReadResult` (or an Arrow
    table, with ``columns`` naming its headers). ``feature_roles`` keys may be original or
    safe names; a ReadResult's own ``forced`` roles apply when it is not given."""
    from workbench.data.reading import resolve_name

    is_table = isinstance(data, pa.Table)
    table = data if is_table else data.table
    columns = columns or (None if is_table else data.columns) or [
        ColumnName(i, n, n) for i, n in enumerate(table.column_names)]
    source = getattr(data, "source", "the data")
    given = dict(getattr(data, "forced", {}) or {})
    for name, role in (feature_roles or {}).items():
        if role not in ROLES:
            from workbench.errors import ParameterError

            raise ParameterError(f"feature_roles gives '{name}' the unknown role '{role}'",
                                 hint=f"use one of: {', '.join(ROLES)}",
                                 parameter="feature_roles")
        given[resolve_name(name, columns, source, "feature_roles")] = role
    label_name = resolve_name(label, columns, source, "label") if label else None
    out: dict[str, Role] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if name in given:
            out[name] = Role(given[name], "the feature_roles parameter", guessed=False)
        elif name == label_name:
            out[name] = Role("label", "the label parameter", guessed=False)
        else:
            out[name] = _guess(name, column, table.num_rows)
    return Roles(out)
