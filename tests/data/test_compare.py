"""Distances as TFDV's metrics.cc computes them (cases from its metrics_test.cc)."""

from __future__ import annotations

import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from workbench.data.compare import jensen_shannon, l_infinity


def _tokens(counts: dict[str, float]) -> statistics_pb2.FeatureNameStatistics:
    fs = statistics_pb2.FeatureNameStatistics(type=statistics_pb2.FeatureNameStatistics.STRING)
    for value, count in counts.items():
        fs.string_stats.rank_histogram.buckets.add(label=value, sample_count=count)
    return fs


def _hist(text: str) -> statistics_pb2.FeatureNameStatistics:
    return text_format.Parse(
        f"type: FLOAT num_stats {{ histograms {{ {text} type: STANDARD }} }}",
        statistics_pb2.FeatureNameStatistics())


@pytest.mark.parametrize("a,b,expected", [
    ({"hello": 0.1, "world": 0.9}, {"hello": 0.3, "world": 0.7}, 0.2),
    ({"b": 0.9, "c": 0.1}, {"a": 0.3, "b": 0.7}, 0.3),
    ({"a": 0.3, "b": 0.7}, {"b": 0.9, "c": 0.1}, 0.3),
])
def test_l_infinity(a, b, expected):
    assert l_infinity(_tokens(a), _tokens(b)).value == pytest.approx(expected)


def test_l_infinity_names_the_value_that_moved_most():
    d = l_infinity(_tokens({"DE": 90, "FR": 10}), _tokens({"DE": 40, "FR": 20, "XX": 40}))
    assert d.key == "DE" and d.share_a == pytest.approx(0.9)


@pytest.mark.parametrize("a,b,expected", [
    ("num_nan: 1 buckets { low_value: 1 high_value: 2.3333333 sample_count: 2.9866667 } "
     "buckets { low_value: 2.3333333 high_value: 3.6666667 sample_count: 1.0066667 } "
     "buckets { low_value: 3.6666667 high_value: 5 sample_count: 2.0066667 }", None, 0.0),
    ("buckets { low_value: 1 high_value: 2 sample_count: 2 } "
     "buckets { low_value: 2 high_value: 3 sample_count: 2 }",
     "buckets { low_value: 2 high_value: 4 sample_count: 2 } "
     "buckets { low_value: 4 high_value: 6 sample_count: 2 }", 0.65563906222),
    ("buckets { low_value: 0 high_value: 1 sample_count: 2 } "
     "buckets { low_value: 1 high_value: 2 sample_count: 2 }",
     "buckets { low_value: 3 high_value: 4 sample_count: 2 } "
     "buckets { low_value: 4 high_value: 6 sample_count: 2 }", 1.0),
    ("buckets { low_value: 1 high_value: 1 sample_count: 4 }",
     "buckets { low_value: 2 high_value: 4 sample_count: 2 } "
     "buckets { low_value: 4 high_value: 6 sample_count: 2 }", 1.0),
    ("num_nan: 1 buckets { low_value: 1 high_value: 2 sample_count: 3 }",
     "buckets { low_value: 1 high_value: 2 sample_count: 4 }", 0.13792538096),
])
def test_jensen_shannon_over_histograms(a, b, expected):
    fa = _hist(a)
    fb = _hist(b) if b else fa
    assert jensen_shannon(fa, fb).value == pytest.approx(expected, abs=1e-5)


def test_jensen_shannon_over_categories_and_quantile_histograms():
    same = jensen_shannon(_tokens({"a": 1, "b": 3}), _tokens({"a": 10, "b": 30}))
    assert same.value == pytest.approx(0.0)
    assert jensen_shannon(_tokens({"a": 1}), _tokens({"b": 1})).value == pytest.approx(1.0)
    fs = text_format.Parse(
        "type: FLOAT num_stats { histograms { buckets { low_value: 0 high_value: 1 "
        "sample_count: 1 } } histograms { type: QUANTILES buckets { low_value: 5 high_value: 6 "
        "sample_count: 1 } } }", statistics_pb2.FeatureNameStatistics())
    other = _hist("buckets { low_value: 5 high_value: 6 sample_count: 1 }")
    assert jensen_shannon(fs, other).value == pytest.approx(1.0)  # standard: disjoint
    other.num_stats.histograms[0].type = statistics_pb2.Histogram.QUANTILES
    quantiles = schema_pb2.HistogramSelection.QUANTILES
    assert jensen_shannon(fs, other, quantiles).value == pytest.approx(0.0)


def test_numeric_and_categorical_cannot_be_compared():
    assert jensen_shannon(_tokens({"a": 1}), _hist(
        "buckets { low_value: 0 high_value: 1 sample_count: 1 }")) is None
    assert l_infinity(_tokens({"a": 1}), _hist(
        "buckets { low_value: 0 high_value: 1 sample_count: 1 }")) is None
