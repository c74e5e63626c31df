"""Raw feature columns from Arrow to NumPy: the one conversion training, evaluation, export and
TFLite all feed the model with.

Column by column, never as Python rows. A number becomes float32 with NaN where it is missing;
a string becomes ``str`` (or UTF-8 ``bytes``) with ``""`` where it is missing — the missing-value
convention of the model contract (docs/stages.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.errors import DataError

__all__ = ["raw_feature_arrays"]


def raw_feature_arrays(table: pa.Table, features: Iterable[tuple[str, str, bool]], *,
                       where: str, hint: str, strings: Literal["str", "bytes"] = "str",
                       **context: Any) -> dict[str, np.ndarray]:
    """One 1-D array per feature, keyed by input name. ``features`` are ``(input name, column,
    is_string)``; ``where`` names the table in errors ("the eval split"), ``hint`` says how to
    fix a missing column, ``context`` locates errors (``split=``, ``file=``).

    Numbers are cast through float64 without overflow checks, so an int64 column beyond 2**24
    converts (rounded to float32) instead of failing; strings are ``str`` objects, or ``bytes``
    (NumPy ``S``, UTF-8) for TensorFlow string tensors."""
    features = list(features)
    missing = [column for _, column, _ in features if column not in table.column_names]
    if missing:
        raise DataError(f"{where} lacks the model's feature column(s) {', '.join(missing)}",
                        hint=hint, column=missing[0], **context)
    out: dict[str, np.ndarray] = {}
    for name, column, is_string in features:
        col = table.column(column)
        if is_string:
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
        try:
            values = pc.cast(col, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise DataError(f"column '{column}' of {where} is {col.type}, not numeric",
                            hint="the model takes it as float32; fix the data type",
                            column=column, **context) from err
        out[name] = values.astype(np.float32).reshape(-1)
    return out
