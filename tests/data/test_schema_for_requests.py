"""Logged requests hold the model's inputs only: the key column and columns the trainer does
not take are not expected of them, while a feature they hold is checked as before."""

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
                      "country": ["de", "fr"] * 100, "is_fraud": [0, 1] * 100})
    schema = infer_schema(compute_statistics(train), label="is_fraud")
    served = pa.table({"amount": [5.0, 7.0], "country": ["de", "zz"]})
    stats = compute_statistics(served)

    plain = validate_statistics(stats, schema, environment=SERVING, label="serving")
    assert ("transaction_id", "SCHEMA_MISSING_COLUMN") in _types(plain)

    checked = validate_statistics(stats, for_requests(schema, set(served.column_names)),
                                  environment=SERVING, label="serving")
    found = _types(checked)
    assert not any(t == "SCHEMA_MISSING_COLUMN" for _, t in found), found
    assert any(f == "country" for f, _ in found), found  # 'zz' is still unseen
    assert SERVING not in schema.feature[0].not_in_environment  # the original is unchanged
