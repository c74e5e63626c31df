"""Read what preprocessing needs from stage 01's statistics and schema (TFDV formats).

Statistics are a ``tensorflow_metadata`` ``DatasetFeatureStatisticsList`` (TFDV-compatible:
``num_stats`` with mean / std_dev / min / max and a QUANTILES histogram; ``string_stats`` with
``unique``, ``top_values`` and a ``rank_histogram``); the schema is a ``Schema`` whose
categorical features carry a string domain. Nothing here reads the data itself: preprocessing is
fitted from these summaries only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import DataError

__all__ = ["ColumnStats", "column_stats", "quantile_boundaries", "schema_domains"]


@dataclass
class ColumnStats:
    """The summary of one column that preprocessing needs."""

    name: str
    type: str  # "numeric" | "string" | "other"
    num_non_missing: int = 0
    num_missing: int = 0
    num_nan: int = 0
    mean: float = math.nan
    std_dev: float = math.nan
    min: float = math.nan
    max: float = math.nan
    #: (low, high, count) of the QUANTILES histogram, if the statistics have one
    quantiles: list[tuple[float, float, float]] = field(default_factory=list)
    unique: int = 0
    #: values by decreasing frequency (rank histogram, else top values)
    vocabulary: list[str] = field(default_factory=list)

    @property
    def has_missing(self) -> bool:
        return self.num_missing > 0 or self.num_nan > 0


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else math.nan


def column_stats(stats: Any, *, dataset: int = 0) -> dict[str, ColumnStats]:
    """Per-column summaries from a ``DatasetFeatureStatisticsList`` (its first dataset)."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    from workbench.data.stats import dataset_statistics, feature_name

    ds = dataset_statistics(stats) if dataset == 0 else stats.datasets[dataset]
    types = statistics_pb2.FeatureNameStatistics
    out: dict[str, ColumnStats] = {}
    for feature in ds.features:
        name = feature_name(feature)
        if feature.HasField("num_stats"):
            num = feature.num_stats
            col = ColumnStats(
                name, "numeric",
                num_non_missing=int(num.common_stats.num_non_missing),
                num_missing=int(num.common_stats.num_missing),
                mean=_finite(num.mean), std_dev=_finite(num.std_dev),
                min=_finite(num.min), max=_finite(num.max))
            for hist in num.histograms:
                col.num_nan = max(col.num_nan, int(hist.num_nan))
                if hist.type == statistics_pb2.Histogram.QUANTILES:
                    col.quantiles = [(b.low_value, b.high_value, b.sample_count)
                                     for b in hist.buckets]
            if num.common_stats.num_non_missing == 0 and num.common_stats.num_missing == 0:
                col.num_non_missing = int(ds.num_examples) - col.num_missing
        elif feature.HasField("string_stats") or feature.type == types.STRING:
            st = feature.string_stats
            if st.rank_histogram.buckets:
                vocab = [b.label for b in sorted(st.rank_histogram.buckets,
                                                 key=lambda b: b.low_rank)]
            else:
                vocab = [v.value for v in sorted(st.top_values, key=lambda v: -v.frequency)]
            col = ColumnStats(name, "string",
                              num_non_missing=int(st.common_stats.num_non_missing),
                              num_missing=int(st.common_stats.num_missing),
                              unique=int(st.unique), vocabulary=vocab)
        else:
            col = ColumnStats(name, "other")
        out[name] = col
    return out


def schema_domains(schema: Any) -> dict[str, list[str]]:
    """Each feature's string domain (inline or named), by feature name."""
    from workbench.data.schema import string_domain

    out: dict[str, list[str]] = {}
    for feature in schema.feature:
        domain = string_domain(schema, feature)
        if domain is not None:
            out[feature.name] = list(domain.value)
    return out


def quantile_boundaries(col: ColumnStats, buckets: int) -> list[float]:
    """``buckets - 1`` bin boundaries at equal-frequency points, from the stored quantiles
    (interpolated within a quantile bucket); equal width between min and max without them."""
    if buckets < 2:
        raise DataError(f"feature '{col.name}' needs at least 2 buckets, got {buckets}",
                        hint="set bucketize to {feature: n} with n >= 2, or a list of "
                        "boundaries", column=col.name)
    targets = [i / buckets for i in range(1, buckets)]
    if col.quantiles:
        total = sum(c for _, _, c in col.quantiles) or 1.0
        edges: list[float] = []
        seen = 0.0
        it = iter(col.quantiles)
        low, high, count = next(it)
        for t in targets:
            want = t * total
            while seen + count < want:
                seen += count
                try:
                    low, high, count = next(it)
                except StopIteration:
                    break
            frac = 0.0 if count <= 0 else min(1.0, max(0.0, (want - seen) / count))
            edges.append(low + (high - low) * frac)
    else:
        if not (math.isfinite(col.min) and math.isfinite(col.max)):
            raise DataError(f"feature '{col.name}' has no min/max or quantiles in the "
                            "statistics, so it cannot be bucketized",
                            hint="drop it from bucketize, or give explicit boundaries",
                            column=col.name)
        edges = [col.min + (col.max - col.min) * t for t in targets]
    unique: list[float] = []
    for e in edges:
        if not unique or e > unique[-1] + 1e-12:
            unique.append(float(e))
    return unique
