"""Logged requests hold the model's inputs only, in its signature's dtypes: the key column and
columns the trainer does not take are not expected of them, an INT feature taken as float32 is
read back as INT when it holds whole numbers, and a feature they hold is checked as before."""

from __future__ import annotations

import pyarrow as pa

from workbench.data.schema import SERVING, for_requests, infer_schema
from workbench.data.stats import compute_statistics
from workbench.data.validate import validate_statistics


def _types(report) -> set[tuple[str, str]]:
    return {(f.feature, f.type) for f in report.findings if f.severity == "ERROR"}


def test_a_column_no_request_holds_is_not_expected_of_requests():
    train = pa.table({"transaction_id": [f"t{i}" for i in range(200)],
                      "amount": [float(i) for i in range(200)],
                      "hour": [i % 24 for i in range(200)],
                      "country": ["de", "fr"] * 100, "is_fraud": [0, 1] * 100})
    schema = infer_schema(compute_statistics(train), label="is_fraud")
    # as the server logs them: float32 for the INT feature 'hour'
    served = pa.table({"amount": pa.array([5.0, 7.0], pa.float32()),
                       "hour": pa.array([3.0, 23.0], pa.float32()), "country": ["de", "zz"]})

    plain = validate_statistics(compute_statistics(served), schema, environment=SERVING,
                                label="serving")
    assert ("transaction_id", "SCHEMA_MISSING_COLUMN") in _types(plain)
    assert any(f == "hour" for f, _ in _types(plain))  # FLOAT where the schema says INT

    table, adapted = for_requests(served, schema)
    assert table.column("hour").type == pa.int64() and table.column("hour").to_pylist() == [3, 23]
    found = _types(validate_statistics(compute_statistics(table), adapted, environment=SERVING,
                                       label="serving"))
    assert not any(t == "SCHEMA_MISSING_COLUMN" for _, t in found), found
    assert not any(f == "hour" for f, _ in found), found
    assert any(f == "country" for f, _ in found), found  # 'zz' is still unseen
    assert SERVING not in schema.feature[0].not_in_environment  # the original is unchanged


def test_fractions_where_the_data_had_whole_numbers_stay_a_type_change():
    train = pa.table({"hour": [i % 24 for i in range(100)]})
    schema = infer_schema(compute_statistics(train))
    served = pa.table({"hour": pa.array([3.5, 23.0], pa.float32())})
    table, adapted = for_requests(served, schema)
    assert pa.types.is_floating(table.column("hour").type)
    found = _types(validate_statistics(compute_statistics(table), adapted, environment=SERVING,
                                       label="serving"))
    assert any(f == "hour" for f, _ in found), found
