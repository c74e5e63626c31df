"""Schema: TFDV's inference rules, exact round trips of TFDV-written files, the extras."""

from __future__ import annotations

import pyarrow as pa
import pytest
from tensorflow_metadata.proto.v0 import schema_pb2

from workbench.data.readers import read_data
from workbench.data.schema import (
    SERVING,
    TRAINING,
    infer_schema,
    read_schema,
    schema_feature,
    vocabulary,
    write_schema,
)
from workbench.data.stats import compute_statistics, read_statistics
from workbench.errors import DataError


def test_inference_reproduces_tfdv_from_its_statistics_and_from_ours(tfdv):
    expected = read_schema(tfdv / "schema_inferred.pbtxt")
    assert infer_schema(read_statistics(tfdv / "stats_breast_cancer.pb")) == expected
    assert infer_schema(compute_statistics(read_data(tfdv / "breast_cancer.csv"))) == expected


@pytest.mark.parametrize("name", ["schema_curated.pbtxt", "schema_inferred.pbtxt"])
def test_tfdv_schemas_load_unchanged(tfdv, tmp_path, name):
    schema = read_schema(tfdv / name)
    write_schema(schema, tmp_path / name)
    assert (tmp_path / name).read_text() == (tfdv / name).read_text()
    assert read_schema(tmp_path / name) == schema


def test_inference_rules_for_domains_presence_and_shape():
    table = pa.table({
        "flag": [0, 1, 1, 0],
        "yes": ["true", "false", "true", "true"],
        "zip": ["01", "22", "301", "4"],
        "color": ["red", "blue", None, "red"],
        "tags": pa.array([["a"], ["a", "b"], ["b"], ["a"]]),
    })
    schema = infer_schema(compute_statistics(table))
    flag, yes, zip_, color, tags = (schema_feature(schema, n) for n in table.column_names)
    assert flag.HasField("bool_domain") and flag.shape.dim[0].size == 1
    assert (yes.bool_domain.true_value, yes.bool_domain.false_value) == ("true", "false")
    assert zip_.HasField("int_domain")
    assert color.domain == "color" and color.presence.min_count == 1
    assert not color.presence.HasField("min_fraction")  # sometimes missing
    assert color.value_count.min == color.value_count.max == 1 and not color.HasField("shape")
    assert tags.value_count.min == 1 and not tags.value_count.HasField("max")
    assert list(schema.string_domain[0].value) == ["blue", "red"]
    assert vocabulary("color", schema=schema) == ["blue", "red"]


def test_too_many_values_give_no_string_domain():
    schema = infer_schema(compute_statistics(pa.table({"id": [f"x{i}" for i in range(101)]})))
    assert not schema.string_domain and not schema.feature[0].HasField("domain")


def test_optional_ranges_thresholds_and_environments(fraud_table):
    schema = infer_schema(compute_statistics(fraud_table), label="is_fraud", infer_ranges=True,
                          drift_threshold=0.1, skew_threshold=0.2)
    assert list(schema.default_environment) == [TRAINING, SERVING]
    assert list(schema_feature(schema, "is_fraud").not_in_environment) == [SERVING]
    age = schema_feature(schema, "customer_age")
    assert age.int_domain.min == 18 and age.int_domain.max <= 95
    assert age.drift_comparator.jensen_shannon_divergence.threshold == pytest.approx(0.1)
    country = schema_feature(schema, "country")
    assert country.drift_comparator.infinity_norm.threshold == pytest.approx(0.1)
    assert country.skew_comparator.infinity_norm.threshold == pytest.approx(0.2)
    assert not schema_feature(schema, "transaction_id").HasField("drift_comparator")
    with pytest.raises(DataError, match="label 'nope'"):
        infer_schema(compute_statistics(fraud_table), label="nope")


def test_vocabulary_falls_back_to_the_rank_histogram(fraud_table):
    stats = compute_statistics(fraud_table)
    assert vocabulary("channel", stats=stats)[0] == "pos"
    assert vocabulary("channel", schema=schema_pb2.Schema(), stats=stats) == \
        vocabulary("channel", stats=stats)
    with pytest.raises(DataError, match="no vocabulary for feature 'amount'"):
        vocabulary("amount", stats=stats)


def test_unreadable_schemas_say_where(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_schema(tmp_path / "missing.pbtxt")
    bad = tmp_path / "bad.pbtxt"
    bad.write_text('feature {\n  name: "a"\n  typo: INT\n}\n')
    with pytest.raises(DataError, match=r"bad.pbtxt is not a valid Schema text proto: 3:"):
        read_schema(bad)
