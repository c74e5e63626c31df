"""Readers and bad input: every error names the file and, where it applies, column and row."""

from __future__ import annotations

import pyarrow as pa
import pytest

from workbench.data import readers
from workbench.data.intake import run_intake
from workbench.data.params import DataValidationParams
from workbench.data.readers import iter_batches, read_data
from workbench.data.stage import apply_filter
from workbench.errors import DataError


def test_non_utf8_text_names_line_column_and_byte(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"id,city\n1,Berlin\n2,M\xfcnchen\n")
    with pytest.raises(DataError) as err:
        read_data(path)
    assert "latin1.csv is not UTF-8 text: line 3, column 'city' has the byte 0xfc" \
        in err.value.message
    assert "iconv" in err.value.hint
    assert err.value.context == {"file": str(path), "column": "city", "row": 1}


def test_ragged_rows_name_the_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n")
    with pytest.raises(DataError, match=r"ragged.csv: line 3 has 4 fields but the header has 3 "
                                        r"columns"):
        read_data(path)


def test_a_column_mixing_numbers_and_text_names_the_odd_values(tmp_path):
    path = tmp_path / "mixed.csv"
    rows = [f"{i},{20 + i % 50}" for i in range(200)]
    rows[57] = "57,unknown"
    path.write_text("id,age\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError) as err:
        read_data(path)
    assert "column 'age' of CSV file" in err.value.message
    assert "199 of 200 values are numbers, 1 is not (line 59: 'unknown')" in err.value.message
    assert err.value.context["column"] == "age" and err.value.context["row"] == 57


def test_a_type_change_in_a_large_csv_read_in_blocks_names_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 1 << 16)
    path = tmp_path / "late.csv"
    rows = [str(i) for i in range(40_000)] + ["n/a?"]
    path.write_text("x\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError) as err:
        list(iter_batches(path))
    assert "column 'x' of CSV file" in err.value.message
    assert "holds int64 values before line 40002, then 'n/a?' on line 40002" in err.value.message
    assert "convert the file to Parquet" in err.value.hint


def test_an_all_empty_column_is_dropped_with_its_reason(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,empty,same,y\n" + "".join(f"{i},,7,{i % 2}\n" for i in range(30)))
    got = run_intake(DataValidationParams(data_path=str(path), label="y"), path=path)
    assert got.roles["empty"].role == "ignore"
    assert got.roles["empty"].reason == "no value in any of its 30 rows"
    assert got.roles["same"].role == "ignore" and "constant" in got.roles["same"].reason


def test_zero_rows_after_filtering(fraud_table):
    kept = apply_filter(fraud_table, "amount > 100 AND country = 'DE'", "fraud")
    assert 0 < kept.num_rows < fraud_table.num_rows
    with pytest.raises(DataError, match=r"row_filter 'amount < 0' leaves 0 of 4,000 rows of "
                                        r"fraud"):
        apply_filter(fraud_table, "amount < 0", "fraud")
    with pytest.raises(DataError, match="row_filter 'amount >' cannot be applied"):
        apply_filter(fraud_table, "amount >", "fraud")


def test_empty_and_header_only_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="is empty"):
        read_data(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("a,b\n")
    with pytest.raises(DataError, match=r"has a header \(2 columns\) but no rows"):
        read_data(tmp_path / "header.csv")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match="unknown format"):
        read_data(tmp_path / "x.json")


@pytest.fixture(scope="module")
def tf():
    import tensorflow

    import workbench  # noqa: F401 - silences TensorFlow before it loads

    return tensorflow


def test_tfrecord_round_trip_with_scalars_lists_and_missing_values(tmp_path, tf):
    from workbench.data.tfrecord import write_tfrecord

    table = pa.table({"age": pa.array([30, None, 41]), "score": pa.array([0.5, 1.5, None]),
                      "tags": pa.array([["a", "b"], [], ["c"]]),
                      "city": ["Köln", "Wien", None]})
    path = write_tfrecord(table, tmp_path / "data.tfrecord")
    back = read_data(path)
    assert back.column_names == sorted(table.column_names)
    assert back.column("age").to_pylist() == [30, None, 41]
    assert back.column("city").to_pylist() == ["Köln", "Wien", None]
    assert back.column("tags").to_pylist() == [["a", "b"], [], ["c"]]
    assert pa.types.is_float32(back.column("score").type)
    gz = write_tfrecord(table, tmp_path / "data.tfrecord.gz")
    assert read_data(gz).equals(back)


def test_a_tfrecord_that_is_not_tf_example_names_the_record(tmp_path, tf):
    from tensorflow.core.example import example_pb2
    from tensorflow_metadata.proto.v0 import schema_pb2

    path = tmp_path / "other.tfrecord"
    good = example_pb2.Example()
    good.features.feature["a"].int64_list.value.append(1)
    with tf.io.TFRecordWriter(str(path)) as w:
        w.write(good.SerializeToString())
        w.write(schema_pb2.Schema(feature=[schema_pb2.Feature(name="x")]).SerializeToString())
    with pytest.raises(DataError) as err:
        read_data(path)
    assert "record 1 of TFRecord file" in err.value.message
    assert "is not a tf.train.Example" in err.value.message
    assert err.value.context["row"] == 1


def test_a_damaged_tfrecord_and_mixed_feature_types(tmp_path, tf):
    from tensorflow.core.example import example_pb2

    (tmp_path / "junk.tfrecord").write_bytes(b"this is not a TFRecord file at all")
    with pytest.raises(DataError, match=r"junk.tfrecord is damaged: record 0"):
        read_data(tmp_path / "junk.tfrecord")
    path = tmp_path / "mixed.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as w:
        for kind in ("int64_list", "bytes_list"):
            ex = example_pb2.Example()
            getattr(ex.features.feature["a"], kind).value.append(1 if kind[0] == "i" else b"x")
            w.write(ex.SerializeToString())
    with pytest.raises(DataError, match=r"feature 'a' .* mixes types: int in record 0, bytes in "
                                        r"record 1"):
        read_data(path)
