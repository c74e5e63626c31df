"""Per-slice statistics by one sort (and the cap), and TFRecord's batched parse against the
precise per-record path."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from workbench.data.stats import (
    StatisticsAccumulator,
    accumulate_statistics,
    compute_statistics,
    split_by,
    top_slice_values,
)


def _table(n=3000, values=30, seed=0):
    rng = np.random.default_rng(seed)
    return pa.table({"shop": pa.array([f"s{k}" for k in rng.integers(0, values, n)]),
                     "amount": rng.random(n), "n": rng.integers(0, 9, n),
                     "city": pa.array(rng.choice(["Köln", "東京", None], n))})


def test_split_by_matches_one_filter_per_value():
    table = _table()
    values = top_slice_values(table.column("shop"), None, "shop")
    parts = dict(split_by(table, "shop", values))
    assert len(parts) == 30 and sum(p.num_rows for p in parts.values()) == table.num_rows
    for value, part in parts.items():
        expected = table.filter(pc.equal(table.column("shop"), value))
        assert sorted(part.column("amount").to_pylist()) == \
            sorted(expected.column("amount").to_pylist())


def test_slice_statistics_equal_the_statistics_of_each_filtered_slice():
    table = _table()
    _, slices = accumulate_statistics(table, slice_by="shop", max_slices=None)
    for value in ("s0", "s7"):
        alone = StatisticsAccumulator()
        alone.update(table.filter(pc.equal(table.column("shop"), value)))
        assert slices[value].to_proto("x") == alone.to_proto("x")


def test_slices_are_capped_with_a_note():
    table = _table(values=50)
    notes: list[str] = []
    _, slices = accumulate_statistics(table, slice_by="shop", notes=notes)
    assert len(slices) == 20
    counts = pc.value_counts(table.column("shop")).to_pylist()
    largest = sorted(counts, key=lambda c: (-c["counts"], c["values"]))[:20]
    assert set(slices) == {c["values"] for c in largest}
    assert notes == ["slice_by 'shop' has 50 values: statistics are computed for the 20 most "
                     "frequent (raise max_slices for more)"]
    stats = compute_statistics(table, slice_by="shop", max_slices=5)
    assert len(stats.datasets) == 6
    streamed = compute_statistics(table.to_batches(max_chunksize=1000), slice_by="shop",
                                  max_slices=None)
    assert len(streamed.datasets) == 51


@pytest.fixture(scope="module")
def tf():
    import tensorflow

    import workbench  # noqa: F401 - silences TensorFlow before it loads

    return tensorflow


def _write(tf, path, examples):
    with tf.io.TFRecordWriter(str(path)) as w:
        for ex in examples:
            w.write(ex.SerializeToString())


def _example(**features):
    from tensorflow.core.example import example_pb2

    ex = example_pb2.Example()
    for name, (kind, values) in features.items():
        getattr(ex.features.feature[name], kind).value.extend(values)
    return ex


def test_the_batched_parse_equals_the_precise_one(tmp_path, tf):
    from workbench.data.tfexample import ExampleColumns, _Feature
    from workbench.data.tfrecord import _parse, iter_tfrecord_batches, read_tfrecord

    examples = []
    for i in range(1200):
        f = {"i": ("int64_list", [i]), "s": ("bytes_list", [f"é{i % 7}".encode()])}
        if i % 10:
            f["x"] = ("float_list", [i / 2])
        if i >= 700:  # a feature first seen in a later batch
            f["late"] = ("bytes_list", [b"\xff\xfe"] if i % 2 else [b"ok"])
        if i % 3 == 0:  # present with no values: an empty list, not a missing value
            f["tags"] = ("bytes_list", [])
        elif i % 3 == 1:
            f["tags"] = ("bytes_list", [b"a", b"b"])
        examples.append(_example(**f))
    path = tmp_path / "x.tfrecord"
    _write(tf, path, examples)
    fast = read_tfrecord(path)
    precise = ExampleColumns(path, _parse)
    records = np.array([e.SerializeToString() for e in examples], object)
    for name, (lengths, present, values) in precise._parse_slow(records, 0).items():
        precise.features[name] = _Feature(precise.kinds[name][0], 0, [lengths], [present],
                                          [values])
    assert fast.equals(precise.table())
    assert fast.column("x")[0].as_py() is None and fast.column("x")[1].as_py() == 0.5
    assert fast.column("tags")[0].as_py() == [] and fast.column("tags")[2].as_py() is None
    assert fast.schema.field("late").type == pa.binary()  # not all UTF-8
    assert fast.column("late")[699].as_py() is None
    assert fast.column("s")[1].as_py() == "é1"
    chunks = list(iter_tfrecord_batches(path, batch_rows=500))
    assert [c.num_rows for c in chunks] == [500, 500, 200]
    assert "late" not in chunks[0].column_names  # absent from every record of that chunk


def test_errors_in_later_batches_name_the_record(tmp_path, tf):
    from tensorflow_metadata.proto.v0 import schema_pb2

    from workbench.data.tfrecord import read_tfrecord
    from workbench.errors import DataError

    good = [_example(a=("int64_list", [i])) for i in range(20_000)]
    path = tmp_path / "kinds.tfrecord"
    _write(tf, path, [*good, _example(a=("bytes_list", [b"x"]))])
    with pytest.raises(DataError, match=r"feature 'a' .* mixes types: int in record 0, bytes in "
                                        r"record 20000"):
        read_tfrecord(path)
    other = tmp_path / "other.tfrecord"
    with tf.io.TFRecordWriter(str(other)) as w:
        for ex in good:
            w.write(ex.SerializeToString())
        w.write(schema_pb2.Schema(feature=[schema_pb2.Feature(name="x")]).SerializeToString())
    with pytest.raises(DataError, match="record 20000 of TFRecord file .* is not a "
                                        "tf.train.Example"):
        read_tfrecord(other)
