"""Slices of the eval split: one per value of a categorical feature, one per bucket of a
numeric feature (equal-frequency buckets of the eval data), each with its example count.

A slice is named ``feature=value`` (``amount=[10.5, 35.2)`` for buckets, ``device=(missing)``
for missing values); thresholds name slices the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench._ranking import most_frequent
from workbench.errors import ConfigError

__all__ = ["MISSING", "Slice", "choose_slice_features", "slices_of"]

MISSING = "(missing)"
#: categorical values beyond this many (by frequency) are not sliced separately
MAX_VALUES = 50


@dataclass
class Slice:
    feature: str
    value: str
    kind: str  # categorical | numeric
    index: np.ndarray  # row positions in the eval split

    @property
    def name(self) -> str:
        return f"{self.feature}={self.value}"

    @property
    def count(self) -> int:
        return len(self.index)


def choose_slice_features(requested: Sequence[str], table: pa.Table,
                          features: Sequence[dict], *, limit: int = 5) -> list[str]:
    """The requested features, checked; or by default up to ``limit`` categorical features
    (else up to two numeric ones)."""
    names = [f["name"] for f in features]
    if requested:
        unknown = [r for r in requested if r not in table.column_names]
        if unknown:
            raise ConfigError(f"cannot slice by {', '.join(unknown)}: not a column of the eval "
                              "split", hint=f"columns: {', '.join(table.column_names)}",
                              parameter="slices")
        return list(requested)
    categorical = [f["name"] for f in features if f["kind"] == "categorical"]
    if categorical:
        return categorical[:limit]
    return names[:2]


def _bucket_label(lo: float, hi: float, last: bool) -> str:
    return f"[{lo:.4g}, {hi:.4g}{']' if last else ')'}"


def slices_of(table: pa.Table, feature: str, *, buckets: int = 4) -> Iterator[Slice]:
    """The slices of one feature: the most frequent values first, equal counts by value
    (categorical), or in bucket order (numeric)."""
    col = table.column(feature)
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type) \
            or pa.types.is_boolean(col.type):
        values = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
        missing = ~np.isfinite(values)
        present = values[~missing]
        distinct = np.unique(present)
        if len(distinct) <= buckets:  # few values (flags, small counts): one slice each
            for v in distinct:
                label = str(int(v)) if float(v).is_integer() else f"{v:.4g}"
                yield Slice(feature, label, "numeric", np.flatnonzero(values == v))
        elif len(present):
            edges = np.unique(np.quantile(present, np.linspace(0, 1, buckets + 1)))
            inner = edges[1:-1]
            bucket = np.searchsorted(inner, values, side="right")
            for b in range(len(edges) - 1):
                index = np.flatnonzero((bucket == b) & ~missing)
                if len(index):
                    yield Slice(feature, _bucket_label(edges[b], edges[b + 1],
                                                       b == len(edges) - 2), "numeric", index)
        if missing.any():
            yield Slice(feature, MISSING, "numeric", np.flatnonzero(missing))
        return
    if not pa.types.is_string(col.type):
        col = pc.cast(col, pa.string())
    combined = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    encoded = pc.dictionary_encode(combined)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    nulls = encoded.indices.is_null().to_numpy(zero_copy_only=False)
    codes = np.where(nulls, -1, codes).astype(np.int64)
    labels = encoded.dictionary.to_pylist()
    if "" in labels:  # an empty string is a missing value, as in training
        codes[codes == labels.index("")] = -1
    nulls = codes < 0
    counts = np.bincount(codes[codes >= 0], minlength=len(labels))
    index_sorted = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[index_sorted], np.arange(-1, len(labels) + 1))
    code_of = {str(labels[code]): int(code) for code in np.flatnonzero(counts)}
    for label, _ in most_frequent({v: counts[c] for v, c in code_of.items()}, MAX_VALUES):
        code = code_of[label]
        index = np.sort(index_sorted[bounds[code + 1]:bounds[code + 2]])
        yield Slice(feature, label, "categorical", index)
    if nulls.any():
        yield Slice(feature, MISSING, "categorical", np.flatnonzero(nulls))
