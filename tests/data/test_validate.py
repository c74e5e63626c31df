"""Validation: each anomaly kind, its numbers and rows, environments, severities, drift, skew."""

from __future__ import annotations

import pyarrow as pa
import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

from workbench.data.schema import infer_schema
from workbench.data.stats import compute_statistics
from workbench.data.validate import validate_statistics
from workbench.errors import DataError

SCHEMA = """
default_environment: "TRAINING"
default_environment: "SERVING"
feature { name: "age" type: INT int_domain { min: 0 max: 120 }
          presence { min_fraction: 1.0 min_count: 1 } }
feature { name: "amount" type: FLOAT float_domain { min: 0 }
          presence { min_fraction: 0.9 min_count: 1 }
          drift_comparator { jensen_shannon_divergence { threshold: 0.1 } } }
feature { name: "color" type: BYTES domain: "color" presence { min_count: 1 }
          drift_comparator { infinity_norm { threshold: 0.1 } }
          skew_comparator { infinity_norm { threshold: 0.1 } } }
feature { name: "label" type: INT bool_domain { } presence { min_fraction: 1.0 min_count: 1 }
          not_in_environment: "SERVING" }
string_domain { name: "color" value: "red" value: "blue" }
"""


def _schema(extra: str = "") -> schema_pb2.Schema:
    return text_format.Parse(SCHEMA + extra, schema_pb2.Schema())


def _table(n: int = 100, **override) -> pa.Table:
    cols = {"age": list(range(20, 20 + n)), "amount": [float(i) for i in range(n)],
            "color": ["red", "blue"] * (n // 2), "label": [0, 1] * (n // 2)}
    cols.update(override)
    return pa.table(cols)


def _check(table, schema=None, **kw):
    return validate_statistics(compute_statistics(table), schema or _schema(), data=table,
                               environment="TRAINING", **kw)


def _types(report):
    return sorted((f.feature, f.type) for f in report.findings)


def test_clean_data_passes():
    report = _check(_table())
    assert report.passed and not report.findings and not report.anomalies.anomaly_info


def test_out_of_range_values_are_counted_with_rows():
    ages = list(range(20, 120)) + [-23, -5, 312]
    report = _check(_table(103, age=ages, amount=[1.0] * 103, color=["red"] * 103,
                           label=[0] * 103))
    assert _types(report) == [("age", "INT_TYPE_BIG_INT"), ("age", "INT_TYPE_SMALL_INT")]
    low = next(f for f in report.findings if f.type == "INT_TYPE_SMALL_INT")
    assert low.description.startswith("2 of 103 values (1.9%) are below the schema minimum 0; "
                                      "the lowest is -23")
    assert low.rows == [100, 101] and low.count == 2
    assert report.reasons()[0].startswith("age: ")


def test_unexpected_strings_give_their_share():
    colors = ["red"] * 90 + ["green"] * 7 + ["pink"] * 3
    report = _check(_table(color=colors))
    (f,) = report.findings
    assert f.type == "ENUM_TYPE_UNEXPECTED_STRING_VALUES" and f.short == "Unexpected string values"
    assert "10 of 100 values (10.0%)" in f.description
    assert "'green' (7 rows, 7.0%), 'pink' (3 rows, 3.0%)" in f.description
    assert f.rows[0] == 90


def test_min_domain_mass_tolerates_a_few_unexpected_values():
    extra = 'feature { name: "x" type: BYTES domain: "color" distribution_constraints ' \
            '{ min_domain_mass: 0.9 } }'
    table = _table(x=["red"] * 95 + ["green"] * 5)
    assert "x" not in {f.feature for f in _check(table, _schema(extra)).findings}
    table = _table(x=["red"] * 85 + ["green"] * 15)
    assert "x" in {f.feature for f in _check(table, _schema(extra)).findings}


def test_presence_below_the_minimum_fraction():
    amounts = [None] * 20 + [1.0] * 80
    (f,) = _check(_table(amount=amounts)).findings
    assert f.type == "FEATURE_TYPE_LOW_FRACTION_PRESENT"
    assert f.description.startswith("present in 80 of 100 rows (80.0%), below the schema's "
                                    "minimum of 90%; missing in 20 rows")
    assert f.rows == [0, 1, 2, 3, 4]


def test_a_feature_in_the_schema_but_absent_is_named():
    report = _check(_table().drop(["age"]))
    (f,) = report.findings
    assert (f.feature, f.type, f.short) == ("age", "SCHEMA_MISSING_COLUMN", "Column dropped")
    assert "has no column 'age'" in f.description


def test_new_columns_and_type_mismatches():
    report = _check(_table(extra=[1] * 100, age=[float(i) for i in range(100)]))
    assert _types(report) == [("age", "UNEXPECTED_DATA_TYPE"), ("extra", "SCHEMA_NEW_COLUMN")]
    assert "expected data of type INT but got FLOAT" in report.findings[0].description


def test_environments_leave_the_label_out_of_serving():
    serving = _table().drop(["label"])
    report = validate_statistics(compute_statistics(serving), _schema(), environment="SERVING")
    assert report.passed
    report = validate_statistics(compute_statistics(serving), _schema(), environment="TRAINING")
    assert _types(report) == [("label", "SCHEMA_MISSING_COLUMN")]
    report = validate_statistics(compute_statistics(_table()), _schema(), environment="SERVING")
    assert _types(report) == [("label", "SCHEMA_NEW_COLUMN")]


def test_bool_domain_and_shape():
    extra = 'feature { name: "f" type: INT shape { dim { size: 1 } } }'
    report = _check(_table(label=[0, 2] * 50, f=[1] * 50 + [None] * 50), _schema(extra))
    assert _types(report) == [("f", "INVALID_FEATURE_SHAPE"), ("label", "BOOL_TYPE_BIG_INT")]


def test_severity_overrides_turn_errors_into_warnings():
    report = _check(_table(extra=[1] * 100),
                    severity_overrides={"SCHEMA_NEW_COLUMN": "WARNING"})
    assert report.passed and report.warnings[0].feature == "extra"
    assert report.anomalies.anomaly_info["extra"].severity == anomalies_pb2.AnomalyInfo.WARNING
    with pytest.raises(DataError, match="unknown severity"):
        _check(_table(extra=[1] * 100), severity_overrides={"SCHEMA_NEW_COLUMN": "LOUD"})


def test_drift_against_a_previous_dataset():
    previous = compute_statistics(_table())
    shifted = _table(amount=[3.0 * i + 200 for i in range(100)], color=["red"] * 100)
    report = _check(shifted, previous=previous, previous_name="baseline run R")
    kinds = {(c.feature, c.metric): c for c in report.comparisons}
    assert kinds[("color", "L_INFTY")].value == pytest.approx(0.5)
    assert kinds[("amount", "JENSEN_SHANNON_DIVERGENCE")].exceeded
    assert _types(report) == [("amount", "COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH"),
                              ("color", "COMPARATOR_L_INFTY_HIGH")]
    color = next(f for f in report.findings if f.feature == "color")
    assert "drift against baseline run R: L-infinity distance 0.5 is above the threshold 0.1" \
        in color.description and "'red' moved most: 100.0% of values now, 50.0% in " \
        "baseline run R" in color.description
    amount = next(f for f in report.findings if f.feature == "amount")
    assert "mean 348.5 now vs 49.5 in baseline run R" in amount.description
    info = report.anomalies.drift_skew_info
    assert {i.path.step[0] for i in info} == {"amount", "color"}


def test_skew_against_serving_data_and_missing_control_data():
    serving = compute_statistics(_table(color=["blue"] * 100).drop(["label"]))
    report = _check(_table(), serving=serving)
    (c,) = report.comparisons
    assert (c.feature, c.kind, c.value) == ("color", "skew", pytest.approx(0.5))
    report = _check(_table(), previous=compute_statistics(_table().drop(["color"])))
    assert ("color", "COMPARATOR_CONTROL_DATA_MISSING") in _types(report)


def test_the_proto_groups_reasons_per_feature():
    ages = [-1] * 50 + [500] * 50
    info = _check(_table(age=ages)).anomalies.anomaly_info["age"]
    assert info.short_description == "Multiple errors" and len(info.reason) == 2
    assert info.description == " ".join(r.description for r in info.reason)


def test_inferred_schema_validates_its_own_data(fraud_table):
    stats = compute_statistics(fraud_table)
    schema = infer_schema(stats, label="is_fraud", drift_threshold=0.1)
    assert validate_statistics(stats, schema, previous=stats, environment="TRAINING").passed
