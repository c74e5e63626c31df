"""Ingest: check a table's columns, split it, describe it (reading files is
:mod:`workbench.data.readers`' job).

Errors name the file (and column or row where it applies) and say how to fix the input.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from workbench.errors import DataError

__all__ = ["data_card", "key_in_eval", "require_columns", "split_table"]


def require_columns(table: pa.Table, columns: dict[str, str], source: str) -> None:
    """Each ``role: column`` (e.g. ``label: is_fraud``) must name a column of the table."""
    have = table.column_names
    for role, column in columns.items():
        if column and column not in have:
            close = [c for c in have if c.lower() == column.lower()]
            extra = f" (did you mean '{close[0]}'?)" if close else ""
            raise DataError(
                f"the {role} column '{column}' does not exist in {source}{extra}",
                hint=f"set the {role} parameter to one of: {', '.join(have)}",
                column=column, file=source)


def key_in_eval(values: pa.ChunkedArray | pa.Array, key: str, *, eval_fraction: float,
                seed: int) -> np.ndarray:
    """Which rows go to eval: a function of each row's key and the seed only, so a worker
    splitting one shard puts every row where the whole table's split puts it."""
    import pandas as pd

    if values.null_count:
        raise DataError(f"key column '{key}' has {values.null_count} missing values",
                        hint="a split key must be present on every row; pick another "
                        "key_column or leave it empty to split by row", column=key)
    hashed = pd.util.hash_array(np.asarray(values.to_pandas(), dtype=object),
                                hash_key=f"{seed:016d}"[-16:])
    return (hashed >> np.uint64(11)).astype(np.float64) / float(1 << 53) < eval_fraction


def split_table(table: pa.Table, *, eval_fraction: float, seed: int,
                key: str | None = None) -> tuple[pa.Table, pa.Table]:
    """Deterministic train/eval split.

    With ``key``, a row's side depends only on the hash of its key (and the seed), so the same
    entity always lands on the same side however the file is ordered or grows. Without, a
    seeded draw per row index.
    """
    if not 0 < eval_fraction < 1:
        raise DataError(f"eval_fraction must be between 0 and 1 (exclusive), got {eval_fraction}",
                        hint="use e.g. eval_fraction=0.2")
    n = table.num_rows
    if key:
        is_eval = key_in_eval(table.column(key), key, eval_fraction=eval_fraction, seed=seed)
    else:
        is_eval = np.random.default_rng(seed).random(n) < eval_fraction
    train, evals = table.filter(pa.array(~is_eval)), table.filter(pa.array(is_eval))
    if train.num_rows == 0 or evals.num_rows == 0:
        raise DataError(
            f"splitting {n} rows with eval_fraction={eval_fraction} leaves "
            f"{train.num_rows} training and {evals.num_rows} evaluation rows",
            hint="use more rows or an eval_fraction nearer 0.5")
    return train, evals


def data_card(table: pa.Table, *, name: str, source: str) -> dict[str, Any]:
    """Columns, types and missing counts of a table: the stage's first description of data."""
    columns = []
    for field in table.schema:
        col = table.column(field.name)
        missing = col.null_count
        if pa.types.is_floating(field.type):
            import pyarrow.compute as pc

            missing += int(pc.sum(pc.is_nan(col)).as_py() or 0)
        columns.append({
            "name": field.name,
            "type": str(field.type),
            "missing": int(missing),
            "missing_pct": round(100.0 * missing / max(table.num_rows, 1), 3),
        })
    return {"name": name, "source": source, "rows": table.num_rows,
            "columns": columns}
