"""Statistics: exact where they should be, mergeable across batches, TFDV's proto and numbers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.data.readers import read_data
from workbench.data.stats import (
    StatisticsAccumulator,
    StatsOptions,
    compute_statistics,
    feature_statistics,
    read_statistics,
    write_statistics,
)
from workbench.errors import DataError


def _fs(stats, name):
    return feature_statistics(stats.datasets[0], name)


def test_numeric_statistics_are_exact_on_small_data():
    rng = np.random.default_rng(0)
    x = rng.normal(10, 3, 5000)
    x[:50] = 0
    values = pa.array(np.where(np.arange(5000) % 10 == 0, np.nan, x), from_pandas=True)
    stats = compute_statistics(pa.table({"x": values}))
    ns = _fs(stats, "x").num_stats
    kept = x[np.arange(5000) % 10 != 0]
    assert ns.common_stats.num_missing == 500
    assert ns.common_stats.num_non_missing == 4500
    assert ns.mean == pytest.approx(kept.mean())
    assert ns.std_dev == pytest.approx(kept.std())  # population std, as TFDV
    assert (ns.min, ns.max) == (kept.min(), kept.max())
    assert ns.num_zeros == int((kept == 0).sum())
    assert ns.median == pytest.approx(np.quantile(kept, 0.5, method="inverted_cdf"))
    standard, quantiles = ns.histograms
    assert sum(b.sample_count for b in standard.buckets) == pytest.approx(4500)
    assert len(standard.buckets) == len(quantiles.buckets) == 10
    expected = np.quantile(kept, np.linspace(0, 1, 11)[1:-1], method="inverted_cdf")
    assert [b.high_value for b in quantiles.buckets][:-1] == pytest.approx(expected)


def test_statistics_match_tfdv_on_the_reference_data(tfdv):
    ours = compute_statistics(read_data(tfdv / "breast_cancer_corrupted.csv")).datasets[0]
    theirs = read_statistics(tfdv / "stats_breast_cancer_corrupted.pb").datasets[0]
    assert ours.num_examples == theirs.num_examples
    assert [f.path.step[0] for f in ours.features] == [f.path.step[0] for f in theirs.features]
    for a, b in zip(ours.features, theirs.features, strict=True):
        assert a.type == b.type, a.path
        if a.HasField("num_stats"):
            na, nb = a.num_stats, b.num_stats
            assert na.common_stats.num_missing == nb.common_stats.num_missing
            for field in ("mean", "std_dev", "min", "max", "median"):  # TFDV rounds to float32
                assert getattr(na, field) == pytest.approx(getattr(nb, field), rel=1e-6), field
            assert na.num_zeros == nb.num_zeros
            qa = [x.low_value for x in na.histograms[1].buckets]
            qb = [x.low_value for x in nb.histograms[1].buckets]
            assert qa == pytest.approx(qb, rel=1e-6)
        else:
            sa, sb = a.string_stats, b.string_stats
            assert sa.unique == sb.unique
            assert sa.avg_length == pytest.approx(sb.avg_length)
            assert [(t.value, t.frequency) for t in sa.top_values] == \
                [(t.value, t.frequency) for t in sb.top_values]


def test_categorical_vocabulary_up_to_1000_values_is_kept():
    values = [f"v{i:04d}" for i in range(1000)] * 3 + ["v0000"] * 5
    ss = _fs(compute_statistics(pa.table({"c": values})), "c").string_stats
    assert ss.unique == 1000
    assert len(ss.top_values) == 20  # TFDV's default
    assert ss.top_values[0].value == "v0000" and ss.top_values[0].frequency == 8
    assert len(ss.rank_histogram.buckets) == 1000
    assert {b.label for b in ss.rank_histogram.buckets} == set(values)
    assert ss.avg_length == 5


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=6))
def test_batches_merge_to_the_statistics_of_the_whole(sizes):
    rng = np.random.default_rng(sum(sizes))
    n = sum(sizes)
    table = pa.table({
        "x": pa.array(np.where(rng.random(n) < 0.1, None, rng.normal(size=n)).tolist(),
                      type=pa.float64()),
        "k": pa.array(rng.integers(-3, 3, n)),
        "c": pa.array(rng.choice(["a", "b", "c", None], n).tolist()),
    })
    whole = compute_statistics(table).datasets[0]
    acc = StatisticsAccumulator()
    start = 0
    for size in sizes:
        part = StatisticsAccumulator()
        part.update(table.slice(start, size))
        acc.merge(part)
        start += size
    merged = acc.to_proto()
    assert merged.num_examples == whole.num_examples
    for a, b in zip(merged.features, whole.features, strict=True):
        which = a.WhichOneof("stats")
        ca, cb = getattr(a, which).common_stats, getattr(b, which).common_stats
        assert (ca.num_missing, ca.num_non_missing) == (cb.num_missing, cb.num_non_missing)
        if which == "num_stats" and ca.num_non_missing:
            assert a.num_stats.mean == pytest.approx(b.num_stats.mean, abs=1e-9)
            assert a.num_stats.std_dev == pytest.approx(b.num_stats.std_dev, abs=1e-9)
            assert a.num_stats.median == b.num_stats.median  # exact below the sketch size
        if which == "string_stats":
            assert a.string_stats.rank_histogram == b.string_stats.rank_histogram


def test_quantiles_of_large_data_come_from_the_sketch_within_its_error():
    rng = np.random.default_rng(1)
    x = rng.lognormal(0, 1, 400_000)
    opts = StatsOptions(sketch_capacity=4096)
    ns = _fs(compute_statistics(pa.table({"x": x}), options=opts), "x").num_stats
    assert ns.mean == pytest.approx(x.mean())  # moments stay exact
    rank = np.searchsorted(np.sort(x), ns.median) / len(x)
    assert abs(rank - 0.5) < 0.03


def test_high_cardinality_strings_switch_to_sketches():
    n = 30_000
    table = pa.table({"id": [f"id{i}" for i in range(n)]})
    opts = StatsOptions(max_exact_values=1000, batch_rows=5000)
    batches = [table.slice(i, 5000) for i in range(0, n, 5000)]
    ss = _fs(compute_statistics(iter(batches), options=opts), "id").string_stats
    assert ss.unique == pytest.approx(n, rel=0.05)
    assert ss.common_stats.num_non_missing == n
    assert ss.avg_length == pytest.approx(np.mean([len(f"id{i}") for i in range(n)]))


def test_list_features_report_their_valency():
    table = pa.table({"tags": pa.array([["a"], ["a", "b"], None, ["c", "a", "b"]])})
    cs = _fs(compute_statistics(table), "tags").string_stats.common_stats
    assert (cs.num_non_missing, cs.num_missing) == (3, 1)
    assert (cs.min_num_values, cs.max_num_values, cs.tot_num_values) == (1, 3, 6)
    assert cs.avg_num_values == pytest.approx(2.0)
    ns = _fs(compute_statistics(pa.table({"n": pa.array([[1, None], [3]])})), "n").num_stats
    assert (ns.mean, ns.common_stats.tot_num_values) == (2.0, 3)


def test_slices_get_their_own_datasets(fraud_table):
    stats = compute_statistics(fraud_table, slice_by="channel")
    names = [d.name for d in stats.datasets]
    assert names[0] == "All Examples"
    assert set(names[1:]) == {"channel_pos", "channel_online", "channel_contactless",
                              "channel_atm"}
    assert sum(d.num_examples for d in stats.datasets[1:]) == fraud_table.num_rows


def test_parquet_files_are_read_in_batches_with_progress(tmp_path, fraud_table):
    path = tmp_path / "fraud.parquet"
    pq.write_table(fraud_table, path, row_group_size=1000)
    seen = []
    stats = compute_statistics(path, options=StatsOptions(batch_rows=1000),
                               progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1000, 4000), (2000, 4000), (3000, 4000), (4000, 4000)]
    whole = compute_statistics(fraud_table).datasets[0]
    for a, b in zip(stats.datasets[0].features, whole.features, strict=True):
        assert a.path == b.path and a.type == b.type
        if a.HasField("num_stats"):
            assert a.num_stats.mean == pytest.approx(b.num_stats.mean)
            assert a.num_stats.median == b.num_stats.median
        else:
            assert a.string_stats.rank_histogram == b.string_stats.rank_histogram


def test_statistics_files_round_trip(tmp_path, fraud_table):
    stats = compute_statistics(fraud_table)
    for name in ("s.pb", "s.pbtxt"):
        write_statistics(stats, tmp_path / name)
        assert read_statistics(tmp_path / name) == stats
    (tmp_path / "bad.pb").write_bytes(b"\xff\xfe not a proto")
    with pytest.raises(DataError, match="not a DatasetFeatureStatisticsList"):
        read_statistics(tmp_path / "bad.pb")


def test_a_column_that_changes_type_between_batches_is_named():
    batches = [pa.table({"a": [1, 2]}), pa.table({"a": ["x", "y"]})]
    with pytest.raises(DataError, match=r"column 'a' .* changes type after row 2"):
        compute_statistics(iter(batches))
    # integers becoming floats is a promotion, not an error
    ok = compute_statistics(iter([pa.table({"a": [1, 2]}), pa.table({"a": [0.5]})]))
    assert _fs(ok, "a").num_stats.mean == pytest.approx(3.5 / 3)


def test_a_data_frame_column_of_mixed_types_is_named():
    import pandas as pd

    with pytest.raises(DataError, match=r"column 'age' of the data frame mixes types: Could "
                                        r"not convert 'x'"):
        compute_statistics(pd.DataFrame({"age": [1, "x", 2.5], "b": [1, 2, 3]}))


def test_no_rows_is_an_error():
    with pytest.raises(DataError, match="no rows"):
        compute_statistics(pa.table({"a": pa.array([], pa.int64())}))
