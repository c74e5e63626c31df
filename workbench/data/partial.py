"""Mergeable partial statistics of one feature: the engine behind :mod:`workbench.data.stats`.

Each partial takes Arrow arrays batch by batch (:meth:`update`) and merges with a partial of the
same feature computed elsewhere (:meth:`merge`), so statistics of data larger than memory are
computed in batches and statistics of splits combine into the statistics of the whole.

* Moments (count, mean, M2) merge with Chan's parallel formula; min, max, zeros and missing
  counts are exact.
* Quantiles and histograms come from :class:`QuantileSketch`, a weighted sample compacted by
  systematic resampling: exact while a feature has at most ``capacity`` values, otherwise a
  uniform sample (rank error about ``0.5/sqrt(capacity)``, 0.2 % at the default), which is how
  TFDV too derives its histograms (from a KLL quantile sketch).
* String value counts are exact up to ``max_exact_values`` distinct values; beyond, the distinct
  count comes from a HyperLogLog sketch (1 % error) and top values from a sample.

NaN floats count as missing, like nulls (as the data card counts them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench._ranking import most_frequent

__all__ = [
    "HyperLogLog",
    "NumericPartial",
    "PartialOptions",
    "QuantileSketch",
    "StringPartial",
    "is_list_type",
    "kind_of",
]


@dataclass(frozen=True)
class PartialOptions:
    """Sizes of the sketches. Defaults give sub-percent rank error and exact small data."""

    sketch_capacity: int = 1 << 16
    max_exact_values: int = 100_000
    approx_top_values: int = 10_000
    hll_precision: int = 14
    seed: int = 0


# -- type mapping ------------------------------------------------------------------------------

def is_list_type(type_: pa.DataType) -> bool:
    """A list of any length kind: a feature with several values per row."""
    return pa.types.is_list(type_) or pa.types.is_large_list(type_) or \
        pa.types.is_fixed_size_list(type_)


def kind_of(type_: pa.DataType) -> str | None:
    """``int``, ``float``, ``string`` or ``bytes`` for an Arrow type (lists: of their values);
    ``None`` for types statistics cannot describe (structs, maps, nulls)."""
    if is_list_type(type_):
        return kind_of(type_.value_type)
    if pa.types.is_dictionary(type_):
        return kind_of(type_.value_type)
    if pa.types.is_boolean(type_) or pa.types.is_integer(type_) or \
            pa.types.is_temporal(type_):
        return "int"
    if pa.types.is_floating(type_) or pa.types.is_decimal(type_):
        return "float"
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "string"
    if pa.types.is_binary(type_) or pa.types.is_large_binary(type_) or \
            pa.types.is_fixed_size_binary(type_):
        return "bytes"
    return None


def _combine(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        return arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr


@dataclass
class _Presence:
    """Per-example presence and value counts (valency) of one feature."""

    num_missing: int = 0
    num_present: int = 0
    tot_values: int = 0
    min_values: int | None = None
    max_values: int | None = None
    lengths: QuantileSketch | None = None  # only for list features

    def update(self, arr: pa.Array, capacity: int, seed: int) -> pa.Array:
        """Count presence; return the flat array of present values."""
        n = len(arr)
        if is_list_type(arr.type):
            lengths = pc.list_value_length(arr)
            present = n - lengths.null_count
            lens = lengths.drop_null().to_numpy(zero_copy_only=False).astype(np.int64)
            values = pc.list_flatten(arr).drop_null()  # a null inside a list is no value
            self.num_missing += n - present
            self.num_present += present
            if present:
                self.tot_values += int(lens.sum())
                lo, hi = int(lens.min()), int(lens.max())
                self.min_values = lo if self.min_values is None else min(self.min_values, lo)
                self.max_values = hi if self.max_values is None else max(self.max_values, hi)
                if self.lengths is None:
                    self.lengths = QuantileSketch(capacity, seed)
                self.lengths.add(lens.astype(np.float64))
            return values
        missing = arr.null_count
        if missing and missing < n:
            arr = arr.drop_null()
        elif missing == n:
            arr = arr.slice(0, 0)
        present = len(arr)
        self.num_missing += missing
        self.num_present += present
        self.tot_values += present
        if present:
            self.min_values = 1 if self.min_values is None else min(self.min_values, 1)
            self.max_values = 1 if self.max_values is None else max(self.max_values, 1)
        return arr

    def merge(self, other: _Presence) -> None:
        self.num_missing += other.num_missing
        self.num_present += other.num_present
        self.tot_values += other.tot_values
        for attr, pick in (("min_values", min), ("max_values", max)):
            a, b = getattr(self, attr), getattr(other, attr)
            setattr(self, attr, b if a is None else a if b is None else pick(a, b))
        if other.lengths is not None:
            if self.lengths is None:
                self.lengths = other.lengths.copy()
            else:
                self.lengths.merge(other.lengths)


# -- quantile sketch ---------------------------------------------------------------------------

class QuantileSketch:
    """A mergeable weighted sample of a numeric distribution.

    Holds every value (weight 1) until ``capacity`` is exceeded; then it keeps ``capacity``
    points that split the weighted distribution into equal masses. A batch larger than the
    capacity is first sampled uniformly (seeded, so results are reproducible).
    """

    def __init__(self, capacity: int = 1 << 16, seed: int = 0) -> None:
        self.capacity = capacity
        self._rng = np.random.default_rng(seed)
        self._values: list[np.ndarray] = []
        self._weights: list[np.ndarray | float] = []
        self._size = 0
        self._sorted = False
        self.total = 0.0

    def copy(self) -> QuantileSketch:
        other = QuantileSketch(self.capacity)
        other._rng = self._rng
        other._values = list(self._values)
        other._weights = list(self._weights)
        other._size = self._size
        other._sorted = self._sorted
        other.total = self.total
        return other

    def add(self, values: np.ndarray) -> None:
        n = len(values)
        if n == 0:
            return
        if n > self.capacity:
            run = values[self._rng.integers(0, n, self.capacity)]
            if run.dtype != np.float64:
                run = run.astype(np.float64)
            weight = n / self.capacity
        else:
            run = np.array(values, dtype=np.float64)  # a copy: never hold the caller's buffer
            weight = 1.0
        run.sort()  # sorted runs make compaction a cheap merge
        self._push(run, weight)
        self.total += n

    def _push(self, values: np.ndarray, weight: np.ndarray | float) -> None:
        self._sorted = False
        self._values.append(values.astype(np.float64, copy=False))
        self._weights.append(weight)
        self._size += len(values)
        if self._size > 2 * self.capacity:
            self._compact()

    def merge(self, other: QuantileSketch) -> None:
        self._sorted = False
        for v, w in zip(other._values, other._weights, strict=True):
            self._values.append(v)
            self._weights.append(w)
            self._size += len(v)
        self.total += other.total
        if self._size > 2 * self.capacity:
            self._compact()

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._values:
            return np.empty(0), np.empty(0)
        values = np.concatenate(self._values) if len(self._values) > 1 else self._values[0]
        weights = np.concatenate([
            np.full(len(v), w) if np.isscalar(w) else w
            for v, w in zip(self._values, self._weights, strict=True)])
        if len(self._values) == 1 and self._sorted:
            return values, weights
        order = np.argsort(values, kind="stable")  # timsort: merges the sorted runs
        return values[order], weights[order]

    def _compact(self) -> None:
        values, weights = self._arrays()
        if len(values) > self.capacity:
            cum = np.cumsum(weights)
            total = cum[-1]
            targets = (np.arange(self.capacity) + 0.5) * (total / self.capacity)
            idx = np.minimum(np.searchsorted(cum, targets), len(values) - 1)
            values, weights = values[idx], np.full(self.capacity, total / self.capacity)
        self._values, self._weights, self._size = [values], [weights], len(values)
        self._sorted = True

    def sorted(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted sample values and their weights (weights sum to the number of values)."""
        if len(self._values) == 1 and self._sorted:
            return self._values[0], self._weights[0]
        values, weights = self._arrays()
        self._values, self._weights, self._size = [values], [weights], len(values)
        self._sorted = True
        return values, weights

    def quantiles(self, qs: np.ndarray) -> np.ndarray:
        values, weights = self.sorted()
        if len(values) == 0:
            return np.full(len(qs), np.nan)
        cum = np.cumsum(weights)
        targets = np.asarray(qs) * cum[-1]
        idx = np.minimum(np.searchsorted(cum, targets, side="left"), len(values) - 1)
        return values[idx]

    def histogram(self, edges: np.ndarray) -> np.ndarray:
        """Weighted counts between ``edges`` (the last bucket includes its upper edge)."""
        values, weights = self.sorted()
        cum = np.concatenate([[0.0], np.cumsum(weights)])
        at = np.searchsorted(values, edges, side="left")
        at[-1] = np.searchsorted(values, edges[-1], side="right")
        return np.diff(cum[at])


# -- numeric features --------------------------------------------------------------------------

@dataclass
class NumericPartial:
    """Partial statistics of an INT or FLOAT feature."""

    kind: str  # "int" | "float"
    options: PartialOptions = field(default_factory=PartialOptions)
    presence: _Presence = field(default_factory=_Presence)
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    min: float = math.inf
    max: float = -math.inf
    zeros: int = 0
    sketch: QuantileSketch | None = None

    def __post_init__(self) -> None:
        if self.sketch is None:
            self.sketch = QuantileSketch(self.options.sketch_capacity, self.options.seed)

    def update(self, arr: pa.Array | pa.ChunkedArray) -> None:
        arr = _combine(arr)
        values = self.presence.update(arr, self.options.sketch_capacity, self.options.seed)
        values = _numeric(values)
        if values.dtype.kind == "f" and len(values) and np.isnan(values.min()):
            nan = np.isnan(values)  # min() propagates NaN: only then look for them
            n_nan = int(nan.sum())
            values = values[~nan]
            # a NaN scalar is a missing value; inside a list it is a dropped value
            if not is_list_type(arr.type):
                self.presence.num_missing += n_nan
                self.presence.num_present -= n_nan
                self.presence.tot_values -= n_nan
        n = len(values)
        if n == 0:
            return
        # float32 values (TFRecord float_list) are summed in float64, not in their own
        # precision, so the mean does not depend on how the rows were batched or sharded
        total = float(values.sum(dtype=np.int64 if values.dtype.kind in "iu" else np.float64))
        # Arrow's variance is one vectorized pass over the numpy buffer (no copy)
        m2 = float(pc.variance(pa.array(values), ddof=0).as_py() or 0.0) * n
        self._merge_moments(n, total / n, m2)
        self.min = min(self.min, float(values.min()))
        self.max = max(self.max, float(values.max()))
        self.zeros += int(np.count_nonzero(values == 0))
        self.sketch.add(values)

    def _merge_moments(self, n: int, mean: float, m2: float) -> None:
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total

    def merge(self, other: NumericPartial) -> None:
        self.presence.merge(other.presence)
        if other.count:
            self._merge_moments(other.count, other.mean, other.m2)
            self.min = min(self.min, other.min)
            self.max = max(self.max, other.max)
            self.zeros += other.zeros
            self.sketch.merge(other.sketch)

    @property
    def std_dev(self) -> float:
        return math.sqrt(self.m2 / self.count) if self.count else 0.0


def _numeric(arr: pa.Array) -> np.ndarray:
    type_ = arr.type
    if pa.types.is_dictionary(type_):
        arr = arr.dictionary_decode()
        type_ = arr.type
    if pa.types.is_boolean(type_):
        return arr.to_numpy(zero_copy_only=False).astype(np.int64)
    if pa.types.is_temporal(type_):
        return arr.cast(pa.int64()).to_numpy(zero_copy_only=False)
    if pa.types.is_decimal(type_):
        return arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
    out = arr.to_numpy(zero_copy_only=False)
    if out.dtype.kind == "u" and out.dtype.itemsize == 8:
        return out.astype(np.float64)
    if out.dtype.kind in "iu" and out.dtype != np.int64:
        return out.astype(np.int64)
    return out


# -- string features ---------------------------------------------------------------------------

class HyperLogLog:
    """Distinct count of hashed values (Flajolet et al.), ~``1.04/sqrt(2**precision)`` error."""

    def __init__(self, precision: int = 14) -> None:
        self.p = precision
        self.registers = np.zeros(1 << precision, dtype=np.int8)

    def add_hashes(self, hashes: np.ndarray) -> None:
        p = self.p
        idx = (hashes >> np.uint64(64 - p)).astype(np.int64)
        rest = hashes & np.uint64((1 << (64 - p)) - 1)
        bit_length = np.frexp(rest.astype(np.float64))[1]
        rank = ((64 - p) - bit_length + 1).astype(np.int8)
        np.maximum.at(self.registers, idx, rank)

    def merge(self, other: HyperLogLog) -> None:
        np.maximum(self.registers, other.registers, out=self.registers)

    def estimate(self) -> int:
        m = float(len(self.registers))
        alpha = 0.7213 / (1 + 1.079 / m)
        raw = alpha * m * m / float(np.sum(np.exp2(-self.registers.astype(np.float64))))
        zeros = int(np.count_nonzero(self.registers == 0))
        if raw <= 2.5 * m and zeros:
            raw = m * math.log(m / zeros)
        return int(round(raw))


def _hash_strings(values: pa.Array) -> np.ndarray:
    import polars as pl

    return pl.Series(values).hash(seed=0).to_numpy()


@dataclass
class StringPartial:
    """Partial statistics of a STRING (or BYTES) feature: value counts and lengths."""

    kind: str  # "string" | "bytes"
    options: PartialOptions = field(default_factory=PartialOptions)
    presence: _Presence = field(default_factory=_Presence)
    counts: dict[str | bytes, float] = field(default_factory=dict)
    total_length: int = 0
    min_length: int | None = None
    max_length: int | None = None
    hll: HyperLogLog | None = None  # set once counts are no longer exact

    @property
    def exact(self) -> bool:
        return self.hll is None

    def update(self, arr: pa.Array | pa.ChunkedArray) -> None:
        arr = _combine(arr)
        values = self.presence.update(arr, self.options.sketch_capacity, self.options.seed)
        if len(values) == 0:
            return
        if pa.types.is_dictionary(values.type):
            vc = pc.value_counts(values)
            uniq = vc.field("values").dictionary_decode() if pa.types.is_dictionary(
                vc.field("values").type) else vc.field("values")
            freq = vc.field("counts").to_numpy()
        elif self.exact:
            vc = pc.value_counts(values)
            uniq, freq = vc.field("values"), vc.field("counts").to_numpy()
        else:
            uniq, freq = None, None
        if uniq is not None:
            lengths = pc.binary_length(uniq).to_numpy(zero_copy_only=False)
            self.total_length += int(np.dot(lengths.astype(np.int64), freq))
            lo, hi = int(lengths.min()), int(lengths.max())
        else:
            lengths = pc.binary_length(values)
            self.total_length += int(pc.sum(lengths).as_py() or 0)
            mm = pc.min_max(lengths).as_py()
            lo, hi = int(mm["min"]), int(mm["max"])
        self.min_length = lo if self.min_length is None else min(self.min_length, lo)
        self.max_length = hi if self.max_length is None else max(self.max_length, hi)
        if not self.exact:
            self._add_approximate(values)
        elif len(self.counts) + len(uniq) > self.options.max_exact_values:
            self._go_approximate(uniq, freq)
        else:
            self._add_counts(uniq, freq)

    def _add_counts(self, uniq: pa.Array, freq: np.ndarray) -> None:
        counts = self.counts
        for value, n in zip(uniq.to_pylist(), freq.tolist(), strict=True):
            counts[value] = counts.get(value, 0) + n

    def _go_approximate(self, uniq: pa.Array, freq: np.ndarray) -> None:
        """Too many distinct values to count exactly: keep the most frequent, estimate the
        distinct count from here on with HyperLogLog."""
        self.hll = HyperLogLog(self.options.hll_precision)
        if self.counts:
            self.hll.add_hashes(_hash_strings(pa.array(list(self.counts), type=uniq.type)))
        self.hll.add_hashes(_hash_strings(uniq))
        keep = self.options.approx_top_values
        if len(freq) > keep:
            top = np.argpartition(-freq, keep)[:keep]
            uniq, freq = uniq.take(pa.array(top)), freq[top]
        self._add_counts(uniq, freq)
        self._truncate()

    def _truncate(self) -> None:
        keep = self.options.approx_top_values
        if len(self.counts) > keep:
            self.counts = dict(most_frequent(self.counts, keep))

    def _add_approximate(self, values: pa.Array) -> None:
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        self.hll.add_hashes(_hash_strings(values))
        n = len(values)
        cap = self.options.sketch_capacity
        if n > cap:
            rng = np.random.default_rng(self.options.seed + n)
            sample = values.take(pa.array(np.sort(rng.integers(0, n, cap))))
            scale = n / cap
        else:
            sample, scale = values, 1.0
        vc = pc.value_counts(sample)
        counts = self.counts
        for value, c in zip(vc.field("values").to_pylist(),
                            vc.field("counts").to_numpy().tolist(), strict=True):
            counts[value] = counts.get(value, 0) + c * scale
        self._truncate()

    def merge(self, other: StringPartial) -> None:
        self.presence.merge(other.presence)
        self.total_length += other.total_length
        for attr, pick in (("min_length", min), ("max_length", max)):
            a, b = getattr(self, attr), getattr(other, attr)
            setattr(self, attr, b if a is None else a if b is None else pick(a, b))
        for value, n in other.counts.items():
            self.counts[value] = self.counts.get(value, 0) + n
        if other.hll is not None or (self.exact and
                                      len(self.counts) > self.options.max_exact_values):
            if self.hll is None:
                self.hll = HyperLogLog(self.options.hll_precision)
                sample_type = pa.binary() if self.kind == "bytes" else pa.string()
                self.hll.add_hashes(_hash_strings(pa.array(list(self.counts),
                                                           type=sample_type)))
            if other.hll is not None:
                self.hll.merge(other.hll)
            self._truncate()

    @property
    def unique(self) -> int:
        return len(self.counts) if self.exact else max(self.hll.estimate(), len(self.counts))
