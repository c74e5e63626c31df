"""Dialect detection and overrides on the messy corpus: encoding, delimiter, quotes, numbers,
missing values, booleans; every guess recorded with its evidence."""

from __future__ import annotations

import gzip

import pyarrow as pa
import pytest

from tests.data.fixtures.byod.generate import bank_rows, write_corpus
from workbench.data.reading import read_table
from workbench.errors import DataError, ParameterError


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("byod"))


def _decision(result, name):
    return result.dialect.decision(name)


def test_the_bank_export_is_read_as_written(corpus):
    result = read_table(corpus["bank"])
    t = result.table
    assert t.num_rows == 5000
    assert [c.safe for c in result.columns] == [
        "transaction_id", "booking_date", "amount_eur", "merchant", "category", "customer_age",
        "card_present", "is_fraud"]
    assert result.names["Amount (EUR)"] == "amount_eur"
    d = result.dialect
    assert (d.encoding, d.bom, d.delimiter, d.decimal, d.thousands) == ("utf-8", True, ";", ",",
                                                                         ".")
    assert _decision(result, "delimiter").how == "detected"
    assert "8 fields with ';'" in _decision(result, "delimiter").evidence
    assert "byte-order mark" in _decision(result, "encoding").evidence
    assert t.schema.field("booking_date").type == pa.timestamp("s")
    assert t.schema.field("amount_eur").type == pa.float64()
    assert t.schema.field("is_fraud").type == pa.bool_()
    assert t.schema.field("card_present").type == pa.bool_()
    rows = bank_rows()
    assert t.column("amount_eur").to_pylist() == [r["amount"] for r in rows]
    assert t.column("booking_date").to_pylist() == [r["when"] for r in rows]
    assert t.column("customer_age").to_pylist() == [r["age"] for r in rows]
    merchants = set(t.column("merchant").to_pylist())
    assert {"Müller & Söhne", "東京商店", 'Bar "Zum Hirschen"', "Shop; Online GmbH",
            "Pizza 🍕 Express"} <= merchants
    assert max(r["amount"] for r in rows) > 1000  # so '1.234,56' occurs and was read


def test_the_label_has_a_learnable_signal():
    rows = bank_rows()
    night = [r["fraud"] for r in rows if r["when"].hour < 6]
    day = [r["fraud"] for r in rows if r["when"].hour >= 9]
    assert sum(night) / len(night) > 3 * sum(day) / len(day)


def test_compressed_csv_reads_the_same(corpus, tmp_path):
    import pyarrow as pa_

    plain = read_table(corpus["bank"]).table
    gz = tmp_path / "bank.csv.gz"
    gz.write_bytes(gzip.compress(corpus["bank"].read_bytes()))
    zst = tmp_path / "bank.csv.zst"
    with pa_.output_stream(str(zst), compression="zstd") as out:
        out.write(corpus["bank"].read_bytes())
    for path, codec in ((gz, "gzip"), (zst, "zstd")):
        result = read_table(path)
        assert result.dialect.compression == codec
        assert result.table.equals(plain)


def test_overrides_are_recorded_as_given(corpus):
    result = read_table(corpus["bank"], delimiter="semicolon", decimal=",", thousands=".",
                        encoding="utf-8")
    for name in ("delimiter", "decimal", "thousands", "encoding"):
        assert _decision(result, name).how == "given", name
    assert result.table.num_rows == 5000


def test_a_wrong_delimiter_names_the_line_and_the_parameter(corpus):
    with pytest.raises(DataError) as err:
        read_table(corpus["bank"], delimiter=",")
    assert "fields but the header has" in err.value.message
    assert "line " in err.value.message
    assert err.value.context["parameter"] == "delimiter"


def test_bad_override_values_are_parameter_errors():
    with pytest.raises(ParameterError, match="delimiter must be one character"):
        read_table("x.csv", delimiter=";;")
    with pytest.raises(ParameterError, match="unknown encoding"):
        read_table("x.csv", encoding="klingon")
    with pytest.raises(ParameterError, match="decimal must be"):
        read_table("x.csv", decimal=";")


def test_cp1252_is_a_warned_fallback(corpus):
    result = read_table(corpus["cp1252"])
    assert result.dialect.encoding == "cp1252"
    assert any("not UTF-8" in w and "encoding parameter" in w for w in result.warnings)
    assert {"München", "Köln", "Kraków"} <= set(result.table.column("city").to_pylist())
    assert "A€" in result.table.column("plan").to_pylist()
    given = read_table(corpus["cp1252"], encoding="cp1252")
    assert _decision(given, "encoding").how == "given" and not given.warnings


def test_utf16_with_bom_and_tabs(corpus):
    result = read_table(corpus["utf16"])
    assert (result.dialect.encoding, result.dialect.delimiter) == ("utf-16", "\t")
    assert {"北京", "Dvořák", "محمد"} <= set(result.table.column("name").to_pylist())
    assert result.table.schema.field("label").type == pa.int64()  # 1/0 stay integers


def test_mixed_encodings_name_the_offset_and_line(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes("id,city\n1,Köln\n".encode() + b"2,M\xfcnchen\n")
    with pytest.raises(DataError) as err:
        read_table(path)
    message = err.value.message
    assert "mixes text encodings" in message
    assert "line 2 holds UTF-8" in message and "line 3 has the byte 0xfc at byte offset 19" \
        in message
    assert err.value.context["parameter"] == "encoding"


def test_mixed_encodings_after_the_sample(tmp_path):
    path = tmp_path / "late.csv"
    body = "".join(f"{i},Köln\n" for i in range(60_000))
    path.write_bytes(("id,city\n" + body).encode() + b"60000,M\xfcnchen\n")
    with pytest.raises(DataError, match=r"mixes text encodings: .* line 60002 has the byte 0xfc"):
        read_table(path)


def test_single_quotes_are_detected(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("name|note\n'a|b'|x\n'c'|y\n'd|e'|z\n")
    result = read_table(path)
    assert (result.dialect.delimiter, result.dialect.quote_char) == ("|", "'")
    assert result.table.column("name").to_pylist() == ["a|b", "c", "d|e"]


def test_one_column_everywhere_asks_for_the_delimiter(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("a b c\n1 2 3\n4 5 6\n")
    with pytest.raises(DataError) as err:
        read_table(path)
    assert "cannot tell the delimiter" in err.value.message
    assert "delimiter=" in err.value.hint and err.value.context["parameter"] == "delimiter"
    assert read_table(path, delimiter="space").table.column("b").to_pylist() == [2, 5]


@pytest.mark.parametrize(("text", "delimiter", "decimal", "thousands", "expected"), [
    ('x;y\n"1.234,56";a\n"12,5";b\n"1.000.000,01";c\n', ";", ",", ".", [1234.56, 12.5,
                                                                         1000000.01]),
    ('x,y\n"1,234.56",a\n"12.5",b\n"7",c\n', ",", ".", ",", [1234.56, 12.5, 7.0]),
    ("x;y\n1 234,56;a\n12,5;b\n999,25;c\n", ";", ",", " ", [1234.56, 12.5, 999.25]),
    ("x;y\n3,25;a\n0,5;b\n10;c\n", ";", ",", "", [3.25, 0.5, 10.0]),
])
def test_number_formats(tmp_path, text, delimiter, decimal, thousands, expected):
    path = tmp_path / "n.csv"
    path.write_text(text)
    result = read_table(path)
    d = result.dialect
    assert (d.delimiter, d.decimal, d.thousands) == (delimiter, decimal, thousands)
    assert result.table.column("x").to_pylist() == expected


def test_missing_value_tokens(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("age,score,city,when\n31,1.5,Köln,2024-01-02\n-,?,NA,null\n"
                    "40,N/A,,2024-01-03\n?,2.5,-,\n")
    result = read_table(path)
    t = result.table
    assert t.column("age").to_pylist() == [31, None, 40, None]
    assert t.column("score").to_pylist() == [1.5, None, None, 2.5]
    assert t.column("city").to_pylist() == ["Köln", None, None, None]
    assert t.column("when").null_count == 2
    evidence = _decision(result, "null_values").evidence
    assert "'-' stands for a missing value in 'age'" in evidence and "'?'" in evidence
    given = read_table(path, null_values=["-", "?", "NA", "null", "N/A", ""])
    assert _decision(given, "null_values").how == "given"


def test_booleans(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("a,b,c,d,e\nyes,TRUE,y,1,fraud\nno,false,N,0,legit\nYes,True,n,1,fraud\n")
    t = read_table(path).table
    assert t.column("a").to_pylist() == [True, False, True]
    assert t.column("b").to_pylist() == [True, False, True]
    assert t.column("c").to_pylist() == [True, False, False]
    assert t.schema.field("d").type == pa.int64()
    assert t.column("e").to_pylist() == ["fraud", "legit", "fraud"]
    given = read_table(path, true_values=["fraud"], false_values=["legit"]).table
    assert given.column("e").to_pylist() == [True, False, True]
    with pytest.raises(ParameterError, match="go together"):
        read_table(path, true_values=["fraud"])


def test_a_single_byte_file_that_starts_as_ascii_asks_for_the_encoding(tmp_path):
    path = tmp_path / "late_latin1.csv"
    body = "".join(f"{i},Berlin\n" for i in range(60_000))
    path.write_bytes(("id,city\n" + body).encode() + b"60000,M\xfcnchen\n")
    with pytest.raises(DataError) as err:
        read_table(path)
    assert "is not UTF-8 text: line 60002 has the byte 0xfc" in err.value.message
    assert "encoding=cp1252" in err.value.hint
    assert read_table(path, encoding="cp1252").table.column("city")[-1].as_py() == "München"


def test_tfrecord_and_parquet_get_safe_names_too(tmp_path):
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"Amount (EUR)": [1.5, 2.5], "Kunde": ["Müller", "東京"]}),
                   tmp_path / "x.parquet")
    result = read_table(tmp_path / "x.parquet")
    assert result.table.column_names == ["amount_eur", "kunde"]
    assert result.table.column("kunde").to_pylist() == ["Müller", "東京"]
