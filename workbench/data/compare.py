"""Distances between two datasets' statistics of one feature, as TFDV's comparators compute them.

* :func:`l_infinity` — the largest difference between the two normalized value distributions of
  a categorical feature (and the value where it occurs).
* :func:`jensen_shannon` — the approximate Jensen–Shannon divergence (base 2, in [0, 1]): over the
  value counts for categorical features, and over histograms for numeric ones after aligning both
  histograms on the union of their bucket boundaries (mass spread uniformly inside a bucket,
  point buckets and infinite buckets kept apart), exactly as TFDV's ``metrics.cc``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from workbench.data.schema import string_values

__all__ = ["Distance", "histogram_of", "jensen_shannon", "l_infinity"]

_FNS = statistics_pb2.FeatureNameStatistics
_Bucket = tuple[float, float, float]  # low, high, count


@dataclass(frozen=True)
class Distance:
    value: float
    #: for L-infinity: the value whose share moved most, with its share in each dataset
    key: str | None = None
    share_a: float | None = None
    share_b: float | None = None


def _normalized(counts: dict[str, float]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()} if total else {}


def l_infinity(a: _FNS, b: _FNS) -> Distance | None:
    """L-infinity distance between the value distributions of ``a`` and ``b``; None when
    either has no string values."""
    pa, pb = _normalized(string_values(a)), _normalized(string_values(b))
    if not pa or not pb:
        return None
    best = Distance(0.0)
    for key in sorted(set(pa) | set(pb)):
        diff = abs(pa.get(key, 0.0) - pb.get(key, 0.0))
        if diff >= best.value:
            best = Distance(diff, key, pa.get(key, 0.0), pb.get(key, 0.0))
    return best


def histogram_of(fs: _FNS, source: int = schema_pb2.HistogramSelection.DEFAULT
                 ) -> statistics_pb2.Histogram | None:
    """The feature's standard histogram (or its quantiles histogram when asked for)."""
    if not fs.HasField("num_stats"):
        return None
    want = statistics_pb2.Histogram.QUANTILES if \
        source == schema_pb2.HistogramSelection.QUANTILES else statistics_pb2.Histogram.STANDARD
    for hist in fs.num_stats.histograms:
        if hist.type == want:
            return hist
    return None


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    mask = (p > 0) & (q > 0)
    return float(np.sum(p[mask] * np.log2(p[mask] / q[mask])))


def _jsd(p: np.ndarray, q: np.ndarray) -> float | None:
    if p.sum() <= 0 or q.sum() <= 0:
        return None
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2
    return min((_kl(p, m) + _kl(q, m)) / 2, 1.0)


def _split(hist: statistics_pb2.Histogram) -> tuple[list[_Bucket], dict[float, float], float]:
    """Regular buckets, point masses (low == high) and the mass in infinite buckets."""
    regular: list[_Bucket] = []
    points: dict[float, float] = {}
    infinite = 0.0
    for b in hist.buckets:
        if not (math.isfinite(b.low_value) and math.isfinite(b.high_value)):
            infinite += b.sample_count
        elif b.low_value == b.high_value:
            points[b.low_value] = points.get(b.low_value, 0.0) + b.sample_count
        else:
            regular.append((b.low_value, b.high_value, b.sample_count))
    return regular, points, infinite


def _rebucket(buckets: list[_Bucket], edges: list[float]) -> list[float]:
    """Spread each bucket's count uniformly over the new edges it covers."""
    out = [0.0] * (len(edges) - 1)
    for low, high, count in buckets:
        width = high - low
        lo_i = edges.index(low)
        hi_i = edges.index(high)
        for i in range(lo_i, hi_i):
            out[i] += count * (edges[i + 1] - edges[i]) / width
    return out


def _align(h1: statistics_pb2.Histogram, h2: statistics_pb2.Histogram
           ) -> tuple[np.ndarray, np.ndarray]:
    r1, p1, inf1 = _split(h1)
    r2, p2, inf2 = _split(h2)
    edges = sorted({e for low, high, _ in r1 + r2 for e in (low, high)})
    c1 = _rebucket(r1, edges) if edges else []
    c2 = _rebucket(r2, edges) if edges else []
    for point in sorted(set(p1) | set(p2)):
        c1.append(p1.get(point, 0.0))
        c2.append(p2.get(point, 0.0))
    if inf1:
        c1.append(inf1)
        c2.append(0.0)
    if inf2:
        c1.append(0.0)
        c2.append(inf2)
    if h1.num_nan or h2.num_nan:  # NaNs as one more bucket (as TFDV's metrics tests expect)
        c1.append(float(h1.num_nan))
        c2.append(float(h2.num_nan))
    return np.array(c1, dtype=float), np.array(c2, dtype=float)


def jensen_shannon(a: _FNS, b: _FNS, source: int = schema_pb2.HistogramSelection.DEFAULT
                   ) -> Distance | None:
    """Approximate Jensen–Shannon divergence between ``a`` and ``b``; None when they cannot be
    compared (no values, or one numeric and one categorical)."""
    va, vb = string_values(a), string_values(b)
    if va and vb:
        keys = sorted(set(va) | set(vb))
        value = _jsd(np.array([va.get(k, 0.0) for k in keys]),
                     np.array([vb.get(k, 0.0) for k in keys]))
        return None if value is None else Distance(value)
    ha, hb = histogram_of(a, source), histogram_of(b, source)
    if ha is None or hb is None:
        return None
    c1, c2 = _align(ha, hb)
    value = _jsd(c1, c2)
    return None if value is None else Distance(value)
