"""More sources (JSON Lines, Excel, part-file folders and globs) and safe column names."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.data.fixtures.byod.generate import write_corpus
from workbench.data.names import safe_name, safe_names
from workbench.data.reading import open_table, read_table
from workbench.errors import DataError


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("byod"))


def test_json_lines_flatten_nested_objects_and_parse_times(corpus):
    result = read_table(corpus["jsonl"])
    t = result.table
    assert t.num_rows == 500
    assert result.names == {"event_id": "event_id", "ts": "ts", "device.os": "device_os",
                            "device.version": "device_version", "amount": "amount",
                            "label": "label"}
    assert t.schema.field("ts").type == pa.timestamp("s")  # pyarrow's JSON reader: UTC, naive
    assert t.schema.field("device_version").type == pa.int64()


def test_excel_one_sheet(corpus):
    result = read_table(corpus["excel"])
    t = result.table
    assert t.num_rows == 1500
    assert result.dialect.sheet == "Transactions"
    assert result.dialect.decision("sheet").evidence == "the only sheet"
    assert t.schema.field("order_date").type == pa.timestamp("s")
    assert t.schema.field("returned").type == pa.bool_()
    assert t.schema.field("amount").type == pa.float64()


def test_excel_with_two_sheets_asks_for_the_sheet(corpus):
    with pytest.raises(DataError) as err:
        read_table(corpus["excel_two_sheets"])
    assert "has 2 sheets with data: 'Transactions', 'Summary'" in err.value.message
    assert "sheet=" in err.value.hint and err.value.context["parameter"] == "sheet"
    chosen = read_table(corpus["excel_two_sheets"], sheet="Summary")
    assert chosen.table.column("total").to_pylist() == [123.5]
    assert chosen.dialect.decision("sheet").how == "given"
    assert read_table(corpus["excel_two_sheets"], sheet="1").table.num_rows == 1500
    with pytest.raises(DataError, match=r"has no sheet 'Totals'; its sheets: 'Transactions', "
                                        r"'Summary'"):
        read_table(corpus["excel_two_sheets"], sheet="Totals")


def test_a_folder_and_a_glob_of_part_files(corpus):
    folder = read_table(corpus["parts"])
    assert folder.table.num_rows == 600 and folder.dialect.format == "parquet"
    glob = read_table(str(corpus["parts"] / "part-000[01].parquet"))
    assert glob.table.num_rows == 400
    csv_parts = read_table(corpus["csv_parts"])
    assert csv_parts.table.num_rows == 300 and csv_parts.dialect.decimal == ","
    assert csv_parts.table.schema.field("spend").type == pa.float64()


def test_a_glob_matching_nothing(tmp_path):
    with pytest.raises(DataError) as err:
        read_table(str(tmp_path / "part-*.parquet"))
    assert "matches no file" in err.value.message
    assert err.value.context["parameter"] == "data_path"


def test_parts_with_different_columns_name_the_files_and_columns(tmp_path):
    pq.write_table(pa.table({"a": [1], "b": ["x"]}), tmp_path / "part-0.parquet")
    pq.write_table(pa.table({"a": [2], "c": ["y"]}), tmp_path / "part-1.parquet")
    with pytest.raises(DataError) as err:
        read_table(tmp_path)
    message = err.value.message
    assert "part-1.parquet differs from part-0.parquet" in message
    assert "it lacks 'b'" in message and "it has 'c'" in message
    (tmp_path / "part-1.parquet").unlink()
    (tmp_path / "part-1.csv").write_text("a,b\n1,x\n")
    with pytest.raises(DataError, match="of 2 formats"):
        read_table(tmp_path)


def test_parts_of_one_column_with_two_types(tmp_path):
    pq.write_table(pa.table({"a": [1], "b": ["x"]}), tmp_path / "part-0.parquet")
    pq.write_table(pa.table({"a": ["one"], "b": ["y"]}), tmp_path / "part-1.parquet")
    with pytest.raises(DataError, match="column 'a' is int64 in part-0.parquet but string in "
                                        "part-1.parquet"):
        read_table(tmp_path)


def test_streamed_batches_have_the_same_columns(corpus):
    stream = open_table(corpus["bank"])
    tables = list(stream.batches())
    whole = read_table(corpus["bank"]).table
    assert pa.concat_tables(tables).equals(whole)


@pytest.mark.parametrize(("header", "expected"), [
    ("Amount (EUR)", "amount_eur"), ("Müller", "muller"), ("Straße", "strasse"),
    ("transactionId", "transaction_id"), ("AmountEUR", "amount_eur"),
    ("2019 sales", "col_2019_sales"),
    ("東京", "col_4"), ("", "col_4"), ("🙂 mood", "mood"), ("Preis (€)", "preis_eur"),
    ("  x  ", "x"), ("a-b.c/d", "a_b_c_d"), ("ID", "id"), ("Ærøskøbing", "aeroskobing"),
])
def test_safe_names(header, expected):
    assert safe_name(header, 3) == expected


def test_safe_names_are_unique_identifiers_with_warnings():
    headers = ["Amount (EUR)", "amount_eur", "", "Müller", "東京", "名前 (name)", "Amount (EUR)",
               "🙂", "label", "x" * 100]
    columns, warnings = safe_names(headers)
    names = [c.safe for c in columns]
    assert names[:9] == ["amount_eur", "amount_eur_2", "col_3", "muller", "col_5", "name",
                         "amount_eur_3", "col_8", "label"]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]{0,63}", n) for n in names)
    assert [c.original for c in columns] == headers
    assert any("column 3 has no header" in w for w in warnings)
    assert any("'東京' (column 5)" in w for w in warnings)
    assert any("the second is called 'amount_eur_3'" in w for w in warnings)


def test_the_messy_header_file_keeps_its_originals(corpus):
    result = read_table(corpus["headers"])
    assert result.original("col_5") == "東京"
    assert result.safe("Müller") == "muller" and result.safe("muller") == "muller"
    card = result.to_dict()
    assert card["columns"][4] == {"index": 4, "original": "東京", "safe": "col_5",
                                  "note": "no ASCII letters", "type": "string",
                                  "decided": card["columns"][4]["decided"]}
    assert len(card["warnings"]) == 5
