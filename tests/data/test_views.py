"""What the views show, and the schema editor's way back into the proto."""

from __future__ import annotations

import pytest

from workbench.data.baseline import bundled_schema_path
from workbench.data.schema import read_schema, schema_feature, string_domain
from workbench.data.stats import compute_statistics
from workbench.data.views import apply_schema_rows, schema_rows, statistics_rows
from workbench.errors import DataError


@pytest.fixture(scope="module")
def fraud_schema():
    return read_schema(bundled_schema_path("fraud"))


def test_statistics_rows_overlay_datasets(fraud_table):
    train = compute_statistics(fraud_table.slice(0, 3000))
    evals = compute_statistics(fraud_table.slice(3000))
    rows = statistics_rows({"train": train, "eval": evals, "serving": None})
    assert rows["datasets"] == ["train", "eval"]
    assert rows["examples"] == {"train": 3000, "eval": 1000}
    amount = next(f for f in rows["features"] if f["name"] == "amount")
    assert amount["kind"] == "numeric" and set(amount["stats"]) == {"train", "eval"}
    assert len(amount["stats"]["train"]["hist"]) == 10
    assert sum(b[2] for b in amount["stats"]["eval"]["hist"]) == pytest.approx(1000)
    channel = next(f for f in rows["features"] if f["name"] == "channel")
    assert channel["kind"] == "categorical" and channel["stats"]["train"]["unique"] == 4
    assert channel["stats"]["train"]["top"][0][0] == "pos"


def test_schema_rows_describe_the_curated_fraud_schema(fraud_schema):
    rows = {r["name"]: r for r in schema_rows(fraud_schema)}
    assert rows["customer_age"]["min"] == 18 and rows["customer_age"]["max"] == 120
    assert rows["country"]["domain"] == "values" and "DE" in rows["country"]["values"]
    assert rows["country"]["drift_metric"] == "L_INFTY"
    assert rows["country"]["drift"] == pytest.approx(0.05)
    assert rows["is_fraud"]["environments"] == ["TRAINING"]
    assert all(r["required"] for r in rows.values())


def test_edits_apply_to_a_copy_of_the_schema(fraud_schema):
    edited = apply_schema_rows(fraud_schema, [
        {"name": "customer_age", "min": 16, "max": None, "required": False},
        {"name": "country", "values": ["DE", "FR", "XX"], "drift": 0.2,
         "drift_metric": "L_INFTY"},
        {"name": "amount", "drift": None, "skew": 0.3, "skew_metric": "JSD"},
    ])
    age = schema_feature(edited, "customer_age")
    assert age.int_domain.min == 16 and not age.int_domain.HasField("max")
    assert not age.presence.HasField("min_fraction")
    country = schema_feature(edited, "country")
    assert list(string_domain(edited, country).value) == ["DE", "FR", "XX"]
    assert country.drift_comparator.infinity_norm.threshold == pytest.approx(0.2)
    amount = schema_feature(edited, "amount")
    assert not amount.HasField("drift_comparator")
    assert amount.skew_comparator.jensen_shannon_divergence.threshold == pytest.approx(0.3)
    assert schema_feature(fraud_schema, "customer_age").int_domain.min == 18  # untouched


@pytest.mark.parametrize("row,message", [
    ({"name": "nope"}, "no feature 'nope'"),
    ({"name": "customer_age", "min": 50, "max": 10}, "minimum 50 is above the maximum 10"),
    ({"name": "customer_age", "min": 1.5}, "bounds must be integers"),
    ({"name": "country", "min": 1}, "has a domain; a range needs a numeric feature"),
    ({"name": "country", "values": ["DE", "DE"]}, "repeats a value"),
    ({"name": "amount", "drift": 3, "drift_metric": "JSD"}, "between 0 and 1"),
])
def test_bad_edits_are_refused(fraud_schema, row, message):
    with pytest.raises(DataError, match=message):
        apply_schema_rows(fraud_schema, [row])
