"""Parity with TFDV 1.21 on its own reference data: the corrupted breast-cancer file against the
curated schema flags the same features with the same anomaly types; the clean file none."""

from __future__ import annotations

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import anomalies_pb2

from workbench.data.readers import read_data
from workbench.data.schema import read_schema
from workbench.data.stats import compute_statistics
from workbench.data.validate import validate_statistics

_TYPE = anomalies_pb2.AnomalyInfo.Type.Name


def _kinds(anomalies):
    return {key: sorted(_TYPE(r.type) for r in info.reason)
            for key, info in anomalies.anomaly_info.items()}


def _validate(tfdv, name):
    table = read_data(tfdv / name)
    return validate_statistics(compute_statistics(table), read_schema(tfdv / "schema_curated.pbtxt"),
                               data=table, source=name)


def _tfdv(tfdv, name):
    return text_format.Parse((tfdv / name).read_text(), anomalies_pb2.Anomalies())


def test_corrupted_data_gives_tfdvs_anomalies(tfdv):
    ours = _validate(tfdv, "breast_cancer_corrupted.csv")
    theirs = _tfdv(tfdv, "anomalies_corrupted_vs_curated.pbtxt")
    assert _kinds(ours.anomalies) == _kinds(theirs) == {
        "mean_radius": ["FLOAT_TYPE_SMALL_FLOAT"],
        "mean_texture": ["FEATURE_TYPE_LOW_FRACTION_PRESENT", "INVALID_FEATURE_SHAPE"],
        "size_cat": ["ENUM_TYPE_UNEXPECTED_STRING_VALUES"],
    }
    for key, info in theirs.anomaly_info.items():
        mine = ours.anomalies.anomaly_info[key]
        assert mine.severity == info.severity == anomalies_pb2.AnomalyInfo.ERROR
        assert mine.short_description == info.short_description
        assert list(mine.path.step) == list(info.path.step)
    assert ours.anomalies.baseline == theirs.baseline
    assert not ours.passed


def test_messages_give_the_numbers_tfdv_leaves_out(tfdv):
    reasons = _validate(tfdv, "breast_cancer_corrupted.csv").reasons()
    assert any(r.startswith("mean_radius: 17 of 569 values (3.0%) are below the schema minimum "
                            "0; the lowest is -20.6") for r in reasons)
    assert any(r.startswith("mean_texture: present in 509 of 569 rows (89.5%)") for r in reasons)
    assert any("'gigantic' (17 rows, 3.0%)" in r for r in reasons)


def test_clean_data_gives_no_anomalies_like_tfdv(tfdv):
    ours = _validate(tfdv, "breast_cancer.csv")
    theirs = _tfdv(tfdv, "anomalies_clean_vs_curated.pbtxt")
    assert not ours.findings and not theirs.anomaly_info
    assert ours.passed and ours.anomalies.baseline == theirs.baseline
