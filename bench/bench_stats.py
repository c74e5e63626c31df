"""Statistics and validation of 1,000,000 rows x 25 features in memory, against pandas.

Data: synthetic, seeded — 10 float columns (normal, lognormal), 10 integer columns, 5 string
columns with 5, 20, 100, 500 and 1,000 distinct values. Both sides start from data in memory in
their native form (an Arrow table for the workbench, a pandas DataFrame for the peer).

* ``stats_1m``: the workbench's full statistics (TFDV's proto: moments, zeros, missing,
  quantiles, standard and quantile histograms, top values and rank histograms) against pandas
  ``describe`` + ``value_counts`` + ``numpy.histogram`` for the same columns, and against the
  same summaries written plainly in polars. Target <= 0.5 s.
* ``validate_1m``: validation of the same rows against a schema (ranges, domains, presence) and
  a baseline's statistics (drift), with exact counts from the data, against the same checks
  written in pandas. Target <= 0.5 s beyond the statistics.
* ``quantile_error``: how far the sketch's median of a lognormal column is from the exact one,
  in rank (the peer's is exact: 0).

Run: ``.venv/bin/python -m bench.bench_stats``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from bench._common import emit, timed

ROWS = 1_000_000
CATEGORIES = (5, 20, 100, 500, 1000)
PEER = "pandas describe+value_counts+histograms"


def synthetic(rows: int = ROWS, seed: int = 0) -> pa.Table:
    """20 numeric and 5 categorical columns; a few missing values in some of them."""
    rng = np.random.default_rng(seed)
    cols: dict[str, pa.Array] = {}
    for i in range(10):
        x = rng.normal(50, 10, rows) if i % 2 else rng.lognormal(3, 1, rows)
        if i < 3:
            cols[f"f{i}"] = pa.array(x, mask=rng.random(rows) < 0.01)
        else:
            cols[f"f{i}"] = pa.array(x)
    for i in range(10):
        cols[f"i{i}"] = pa.array(rng.integers(0, 10 ** (i % 5 + 1), rows))
    for i, k in enumerate(CATEGORIES):
        vocab = np.array([f"cat{i}_{j}" for j in range(k)])
        weights = 1.0 / np.arange(1, k + 1)
        cols[f"c{i}"] = pa.array(vocab[rng.choice(k, rows, p=weights / weights.sum())])
    return pa.table(cols)


def pandas_statistics(df) -> dict:  # noqa: ANN001 - a pandas DataFrame
    """The peer: what a straightforward pandas job computes for the same columns."""
    numeric = df.select_dtypes("number")
    out = {"describe": numeric.describe(percentiles=[0.1 * i for i in range(1, 10)]),
           "missing": df.isna().sum(), "zeros": (numeric == 0).sum()}
    out["hist"] = {c: np.histogram(numeric[c].dropna().to_numpy(), bins=10)
                   for c in numeric.columns}
    out["counts"] = {c: df[c].value_counts() for c in df.columns if c not in numeric.columns}
    out["lengths"] = {c: df[c].str.len().mean() for c in out["counts"]}
    return out


def polars_statistics(df) -> dict:  # noqa: ANN001 - a polars DataFrame
    """A second peer: the same summaries written plainly in polars (multi-threaded)."""
    import polars as pl

    numeric = [c for c, t in df.schema.items() if t.is_numeric()]
    strings = [c for c in df.columns if c not in numeric]
    qs = [0.1 * i for i in range(1, 10)]
    counts = df.select([pl.col(c).count() for c in numeric]).row(0)
    quantiles = [  # one sort per column, deciles picked from it
        pl.col(c).drop_nulls().sort().gather([min(int(q * n), n - 1) for q in qs]).implode()
        .alias(f"{c}_q") for c, n in zip(numeric, counts, strict=True)]
    summary = df.select(
        [pl.col(c).mean().alias(f"{c}_mean") for c in numeric]
        + [pl.col(c).std(ddof=0).alias(f"{c}_std") for c in numeric]
        + [pl.col(c).min().alias(f"{c}_min") for c in numeric]
        + [pl.col(c).max().alias(f"{c}_max") for c in numeric]
        + [(pl.col(c) == 0).sum().alias(f"{c}_zeros") for c in numeric]
        + [pl.col(c).null_count().alias(f"{c}_missing") for c in df.columns]
        + quantiles
        + [pl.col(c).str.len_bytes().mean().alias(f"{c}_len") for c in strings])
    hist = {c: df[c].drop_nulls().hist(bin_count=10) for c in numeric}
    counts = {c: df[c].value_counts(sort=True) for c in strings}
    return {"summary": summary, "hist": hist, "counts": counts}


def _schema(stats):  # noqa: ANN001, ANN202
    from workbench.data.schema import infer_schema

    return infer_schema(stats, infer_ranges=True, drift_threshold=0.1)


def pandas_validation(df, schema) -> int:  # noqa: ANN001 - the peer's checks
    from workbench.data.schema import string_domain

    bad = 0
    for feature in schema.feature:
        s = df[feature.name]
        bad += int(s.isna().sum())
        if feature.HasField("int_domain") or feature.HasField("float_domain"):
            dom = feature.int_domain if feature.HasField("int_domain") else feature.float_domain
            bad += int(((s < dom.min) | (s > dom.max)).sum())
        domain = string_domain(schema, feature)
        if domain is not None:
            bad += int((~s.isin(list(domain.value))).sum())
    return bad


def main() -> None:
    import workbench  # noqa: F401 - as every entry point does
    from workbench.data.stats import compute_statistics
    from workbench.data.validate import validate_statistics

    table = synthetic()
    df = table.to_pandas()
    ours = timed(lambda: compute_statistics(table), repeat=5)
    peer = timed(lambda: pandas_statistics(df), repeat=3)
    emit("stats_1m", "wall_s", workbench=ours, peer=peer, peer_name=PEER,
         target="<= 0.5 s", ok=ours <= 0.5, rows=ROWS, features=table.num_columns)
    import polars as pl

    frame = pl.from_arrow(table)
    polars = timed(lambda: polars_statistics(frame), repeat=3)
    emit("stats_1m", "wall_s_vs_polars", workbench=ours, peer=polars,
         peer_name="polars mean/std/quantiles/hist/value_counts", target="<= 0.5 s",
         ok=ours <= 0.5, rows=ROWS)

    stats = compute_statistics(table)
    baseline = compute_statistics(synthetic(seed=1))
    schema = _schema(baseline)
    validate = timed(lambda: validate_statistics(stats, schema, previous=baseline, data=table),
                     repeat=5)
    peer_validate = timed(lambda: pandas_validation(df, schema), repeat=3)
    emit("validate_1m", "wall_s", workbench=validate, peer=peer_validate,
         peer_name="pandas range/isin/isna checks", target="<= 0.5 s beyond statistics",
         ok=validate <= 0.5, rows=ROWS)

    from workbench.data.stats import feature_statistics

    exact = np.sort(table.column("f0").drop_null().to_numpy())
    median = feature_statistics(stats.datasets[0], "f0").num_stats.median
    rank = abs(np.searchsorted(exact, median) / len(exact) - 0.5)
    emit("quantile_error", "median_rank_error", workbench=rank, unit="fraction of rows",
         target="< 0.01 (TFDV's sketch epsilon)", ok=bool(rank < 0.01))


if __name__ == "__main__":
    main()
