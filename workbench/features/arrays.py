"""Raw feature columns from Arrow to NumPy: the one conversion training, evaluation, export and
TFLite all feed the model with.

Column by column, never as Python rows. A number becomes float32 with NaN where it is missing;
a string becomes ``str`` (or UTF-8 ``bytes``) with ``""`` where it is missing; a date/time
becomes int64 epoch seconds (UTC) with :data:`MISSING_INT64` (-2**63) where it is missing — the
missing-value convention of the model contract (docs/stages.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.errors import DataError
from workbench.features.calendar import MISSING_SECONDS

__all__ = ["DTYPES", "MISSING_INT64", "int64_seconds", "raw_feature_arrays"]

#: the raw input dtypes of the model contract
DTYPES = ("float32", "string", "int64")
#: a missing int64 input (a date/time feature's missing timestamp)
MISSING_INT64 = MISSING_SECONDS


def _dtype(dtype: str | bool) -> str:
    if isinstance(dtype, bool):  # the older (input, column, is_string) form
        return "string" if dtype else "float32"
    if dtype not in DTYPES:
        raise ValueError(f"raw feature dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    return dtype


def raw_feature_arrays(table: pa.Table, features: Iterable[tuple[str, str, str | bool]], *,
                       where: str, hint: str, strings: Literal["str", "bytes"] = "str",
                       **context: Any) -> dict[str, np.ndarray]:
    """One 1-D array per feature, keyed by input name. ``features`` are ``(input name, column,
    dtype)`` with dtype ``float32``, ``string`` or ``int64`` (or True/False for string/float32);
    ``where`` names the table in errors ("the eval split"), ``hint`` says how to fix a missing
    column, ``context`` locates errors (``split=``, ``file=``).

    Numbers are cast through float64 without overflow checks, so an int64 column beyond 2**24
    converts (rounded to float32) instead of failing; strings are ``str`` objects, or ``bytes``
    (NumPy ``S``, UTF-8) for TensorFlow string tensors; int64 columns (epoch seconds; an Arrow
    timestamp or date is converted to them) stay exact."""
    features = [(name, column, _dtype(dtype)) for name, column, dtype in features]
    missing = [column for _, column, _ in features if column not in table.column_names]
    if missing:
        raise DataError(f"{where} lacks the model's feature column(s) {', '.join(missing)}",
                        hint=hint, column=missing[0], **context)
    out: dict[str, np.ndarray] = {}
    for name, column, dtype in features:
        col = table.column(column)
        if dtype == "string":
            if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                col = pc.cast(col, pa.string())
            filled = pc.fill_null(col, "")
            if strings == "bytes":
                binary = pa.large_binary() if pa.types.is_large_string(col.type) else pa.binary()
                values = pc.cast(filled, binary).to_numpy(zero_copy_only=False)
                out[name] = values.astype(bytes)
            else:
                out[name] = filled.to_numpy(zero_copy_only=False).astype(object)
            continue
        if dtype == "int64":
            out[name] = int64_seconds(col, column=column, where=where, **context)
            continue
        try:
            values = pc.cast(col, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise DataError(f"column '{column}' of {where} is {col.type}, not numeric",
                            hint="the model takes it as float32; fix the data type",
                            column=column, **context) from err
        out[name] = values.astype(np.float32).reshape(-1)
    return out


def int64_seconds(col: Any, *, column: str, where: str, **context: Any) -> np.ndarray:
    """A date/time column as int64 epoch seconds, :data:`MISSING_INT64` where it is null: from
    integers (already epoch seconds), Arrow timestamps (any unit and time zone: UTC instants)
    or dates (midnight UTC), or whole floats (NaN is missing)."""
    t = col.type
    if pa.types.is_date(t):
        col = pc.cast(pc.cast(col, pa.date32()), pa.timestamp("s"))
        t = col.type
    if pa.types.is_timestamp(t):
        if t.unit != "s":  # floor to whole seconds, also before 1970
            col = pc.floor_temporal(col, unit="second").cast(pa.timestamp("s", t.tz))
        col = pc.cast(col, pa.int64())
    elif pa.types.is_floating(t):
        values = col.to_numpy(zero_copy_only=False).astype(np.float64)
        bad = ~np.isnan(values) & (values != np.floor(values))
        if bad.any():
            rows = np.flatnonzero(bad)[:5].tolist()
            raise DataError(f"column '{column}' of {where} is a date/time (int64 epoch seconds) "
                            f"but holds fractions on {int(bad.sum()):,} row(s) (first rows: "
                            f"{rows})", hint="store whole seconds since 1970-01-01 UTC",
                            column=column, **context)
        nan = np.isnan(values)
        return np.where(nan, MISSING_INT64, np.nan_to_num(values)).astype(np.int64)
    elif not pa.types.is_integer(t):
        raise DataError(f"column '{column}' of {where} is {t}, not a date/time",
                        hint="a date/time feature takes int64 epoch seconds (UTC); re-run "
                        "01_data_validation so it parses the column", column=column, **context)
    try:
        ints = pc.cast(col, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise DataError(f"column '{column}' of {where} ({t}) does not fit int64 epoch seconds",
                        hint="store seconds since 1970-01-01 UTC", column=column,
                        **context) from err
    return pc.fill_null(ints, MISSING_INT64).to_numpy(zero_copy_only=False) \
        .astype(np.int64).reshape(-1)
