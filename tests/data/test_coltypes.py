"""Date formats, forced types and the bad-input messages of the reading layer."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from workbench.data.reading import read_table
from workbench.data.timeparse import strptime_format
from workbench.errors import DataError, ParameterError


def _csv(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _dates(tmp_path, values, header="when", **kw):
    path = _csv(tmp_path, header + ",x\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values)))
    return read_table(path, **kw)


@pytest.mark.parametrize(("values", "expected", "label"), [
    (["05.01.2024 10:30", "31.12.2023 23:59"], [datetime(2024, 1, 5, 10, 30),
                                                  datetime(2023, 12, 31, 23, 59)],
     "dd.mm.yyyy hh:mm"),
    (["05.01.2024", "6.2.2024"], [datetime(2024, 1, 5), datetime(2024, 2, 6)], "dd.mm.yyyy"),
    (["2024-01-05T10:30:00", "2024-01-06 11:00:00.250"],
     [datetime(2024, 1, 5, 10, 30), datetime(2024, 1, 6, 11, 0)], "ISO 8601"),
    (["25/01/2024", "02/03/2024"], [datetime(2024, 1, 25), datetime(2024, 3, 2)],
     "dd/mm/yyyy"),
    (["01/25/2024 08:00:05", "03/02/2024 09:10:00"],
     [datetime(2024, 1, 25, 8, 0, 5), datetime(2024, 3, 2, 9, 10)], "mm/dd/yyyy hh:mm:ss"),
    (["2024/01/05", "2024/12/31"], [datetime(2024, 1, 5), datetime(2024, 12, 31)],
     "yyyy/mm/dd"),
])
def test_date_formats(tmp_path, values, expected, label):
    result = _dates(tmp_path, values)
    assert result.table.schema.field("when").type == pa.timestamp("s")
    assert result.table.column("when").to_pylist() == expected
    assert label in result.types["when"].value


def test_iso_with_a_zone_is_utc(tmp_path):
    t = _dates(tmp_path, ["2024-01-05T10:30:00Z", "2024-01-05T12:00:00+01:00"]).table
    assert t.schema.field("when").type == pa.timestamp("s", tz="UTC")
    assert [v.hour for v in t.column("when").to_pylist()] == [10, 11]


def test_ambiguous_day_and_month_is_reported_and_overridable(tmp_path):
    result = _dates(tmp_path, ["01/02/2024", "03/04/2024"])
    assert result.table.column("when").to_pylist() == [datetime(2024, 1, 2), datetime(2024, 3, 4)]
    assert "cannot be told apart" in result.types["when"].evidence
    given = _dates(tmp_path, ["01/02/2024", "03/04/2024"], date_format="dd/mm/yyyy")
    assert given.table.column("when").to_pylist() == [datetime(2024, 2, 1), datetime(2024, 4, 3)]
    assert given.types["when"].evidence == "the date_format parameter"
    per_column = _dates(tmp_path, ["01/02/2024", "03/04/2024"], date_format={"when": "%d/%m/%Y"})
    assert per_column.table.column("when")[0].as_py() == datetime(2024, 2, 1)


def test_an_ambiguous_guess_proved_wrong_later_is_read_the_other_way(tmp_path):
    values = ["01/02/2024"] * 6000 + ["25/12/2024"]
    result = _dates(tmp_path, values)
    assert result.table.column("when")[-1].as_py() == datetime(2024, 12, 25)
    assert result.table.column("when")[0].as_py() == datetime(2024, 2, 1)


def test_a_date_column_with_two_formats_names_both(tmp_path):
    with pytest.raises(DataError) as err:
        _dates(tmp_path, ["05.01.2024", "2024-01-06", "07.01.2024"])
    message = err.value.message
    assert "column 'when' of" in message and "two formats" in message
    assert "'2024-01-06' on line 3" in message and "'05.01.2024' on line 2" in message
    assert err.value.context["parameter"] == "date_format"
    with pytest.raises(DataError, match=r"dd/mm/yyyy \('13/01/2024' on line 2\) and mm/dd/yyyy "
                                        r"\('01/13/2024' on line 3\)"):
        _dates(tmp_path, ["13/01/2024", "01/13/2024"])


def test_a_second_format_after_the_sample(tmp_path):
    values = ["05.01.2024 10:00"] * 6000 + ["2024-01-05"]
    with pytest.raises(DataError) as err:
        _dates(tmp_path, values)
    assert "two formats: dd.mm.yyyy hh:mm" in err.value.message
    assert "'2024-01-05' on line 6002" in err.value.message


def test_epoch_seconds_in_a_time_named_column(tmp_path):
    path = _csv(tmp_path, "event_time,amount\n1704450600,3\n1704537000,4\n")
    result = read_table(path)
    assert result.table.column("event_time")[0].as_py() == datetime(2024, 1, 5, 10, 30)
    assert "epoch" in result.types["event_time"].value
    assert result.table.schema.field("amount").type == pa.int64()


def test_strptime_format_patterns():
    assert strptime_format("dd.mm.yyyy hh:mm") == ("%d.%m.%Y %H:%M",)
    assert strptime_format("mm/dd/yyyy") == ("%m/%d/%Y",)
    assert strptime_format("%Y%m%d") == ("%Y%m%d",)
    assert strptime_format("iso") == ("ISO8601",)


def test_forcing_numeric_on_text_names_three_values_and_their_lines(tmp_path):
    rows = ["10", "12", "abc", "14", "n.a.", "x1", "zzz"]
    path = _csv(tmp_path, "code,y\n" + "".join(f"{v},{i}\n" for i, v in enumerate(rows)))
    with pytest.raises(DataError) as err:
        read_table(path, feature_roles={"code": "numeric"})
    message = err.value.message
    assert "column 'code' of" in message and "is numeric but holds text" in message
    assert "line 4: 'abc', line 6: 'n.a.', line 7: 'x1' and 1 more" in message
    assert err.value.context["parameter"] == "feature_roles"
    assert "feature_roles" in err.value.hint


def test_forcing_a_role_by_original_name_and_keeping_codes_as_text(tmp_path):
    path = _csv(tmp_path, "Post code,Zip,amount\n01234,1001,3\n99999,2002,4\n")
    result = read_table(path, feature_roles={"Zip": "categorical"})
    t = result.table
    assert t.column("post_code").to_pylist() == ["01234", "99999"]  # leading zeros: codes
    assert t.column("zip").to_pylist() == ["1001", "2002"]
    assert result.forced == {"zip": "categorical"}
    with pytest.raises(ParameterError, match="feature_roles names 'nope', which is not a column"):
        read_table(path, feature_roles={"nope": "id"})
    with pytest.raises(ParameterError, match="unknown role 'feature'"):
        read_table(path, feature_roles={"amount": "feature"})


def test_a_column_mixing_numbers_and_text(tmp_path):
    rows = [str(20 + i % 50) for i in range(300)]
    rows[57] = "unknown"
    path = _csv(tmp_path, "age,y\n" + "".join(f"{v},1\n" for v in rows))
    with pytest.raises(DataError) as err:
        read_table(path)
    assert "column 'age'" in err.value.message and "mixes numbers and text" in err.value.message
    assert "line 59: 'unknown'" in err.value.message
    assert err.value.context["parameter"] == "null_values"
    ok = read_table(path, null_values=["unknown", ""]).table
    assert ok.column("age").null_count == 1 and ok.schema.field("age").type == pa.int64()


def test_labels_as_text(tmp_path):
    path = _csv(tmp_path, "a;b;c;d\nyes;fraud;1,5;7\nno;legit;2,25;8\n")
    t = read_table(path).table
    assert t.column("a").to_pylist() == [True, False]
    assert t.column("b").to_pylist() == ["fraud", "legit"]
    assert t.column("c").to_pylist() == [1.5, 2.25]


def test_excel_text_numbers_and_dates_are_typed(tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Betrag", "Datum", "Kunde"])
    sheet.append(["1.234,56", "05.01.2024", "Müller"])
    sheet.append(["12,50", "06.01.2024", "東京"])
    workbook.save(tmp_path / "x.xlsx")
    result = read_table(tmp_path / "x.xlsx")
    t = result.table
    assert t.column("betrag").to_pylist() == [1234.56, 12.5]
    assert t.column("datum").to_pylist() == [datetime(2024, 1, 5), datetime(2024, 1, 6)]
    bad = Workbook()
    bad.active.append(["n"])
    for v in ("1", "2", "x"):
        bad.active.append([v])
    bad.save(tmp_path / "bad.xlsx")
    with pytest.raises(DataError, match=r"row 4: 'x'"):
        read_table(tmp_path / "bad.xlsx", feature_roles={"n": "numeric"})
