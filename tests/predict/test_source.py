"""Reading rows to score: stage 01's names and dialect, and per-row conversion (no model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.bulk.source import ScoringSource, coerce_features
from workbench.export.contract import MISSING_INT64, Feature


def test_a_csv_file_is_named_and_read_as_stage_01_reads_it(tmp_path: Path) -> None:
    data = tmp_path / "export.csv"
    more = "".join(f"{d:02d}/03/2024 10:00;5,00;E\n" for d in range(1, 29))
    data.write_text("Booked at;Amount (EUR);Shop\n"
                    "31/12/2023 23:59;1.234,50;A\n"
                    "01/02/2024 08:00;12,00;B\n"
                    "next week;7,00;C\n"
                    ";oops;D\n" + more, encoding="utf-8")
    src = ScoringSource.open(data)
    assert src.names == ["booked_at", "amount_eur", "shop"]
    assert src.resolve("Amount (EUR)", "keep_columns") == "amount_eur"
    assert src.number_format.decimal == ","
    (batch,) = list(src.batches(100))
    assert batch.first_row == 1 and batch.table.num_rows == 32
    features = [Feature("booked_at", "int64", "datetime"), Feature("amount_eur", "float32"),
                Feature("shop", "string", "categorical")]
    arrays, good, why = coerce_features(batch.table, features, number_format=src.number_format,
                                        null_values=src.null_values,
                                        date_formats=src.date_formats)
    assert good.tolist() == [True, True, False, False] + [True] * 28
    assert arrays["booked_at"][:2].tolist() == [1704067140, 1706774400]  # UTC seconds
    assert arrays["booked_at"][3] == MISSING_INT64  # missing: imputed by the model
    np.testing.assert_allclose(arrays["amount_eur"][:2], [1234.5, 12.0])
    assert arrays["shop"][:4].tolist() == [b"A", b"B", b"C", b"D"]
    assert why[2] == "feature 'booked_at' is 'next week', not a date written dd/mm/yyyy hh:mm"
    assert why[3] == "feature 'amount_eur' is 'oops', not a number"
