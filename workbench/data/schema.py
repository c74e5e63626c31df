"""Schema: inferred from statistics with TFDV's rules, read and written as ``schema.pbtxt``.

:func:`infer_schema` follows TFDV's ``infer_schema`` (``infer_feature_shape=True``,
``max_string_domain_size=100``): feature types, presence (``min_count`` 1, ``min_fraction`` 1.0
for features never missing), a fixed ``shape`` for features always present with one value (else
a ``value_count``), bool domains for 0/1 integers and true/false strings, int domains for
strings of integers, and a string domain (a vocabulary) for strings with at most 100 distinct
values. The workbench's own additions are opt-in, so with the defaults the result is what TFDV
writes: numeric ranges from the observed min/max, drift and skew comparators (L-infinity for
categorical features, Jensen-Shannon divergence for numeric ones: over the standard histogram
for integers, over the quantiles histogram for floats, whose equal-width buckets would shift
whenever one extreme value moves the max), and the TRAINING/SERVING environments with the label
left out of SERVING.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from workbench.data.stats import dataset_statistics, feature_name, feature_statistics
from workbench.errors import DataError

__all__ = [
    "SERVING",
    "TRAINING",
    "infer_schema",
    "is_categorical",
    "read_schema",
    "schema_feature",
    "string_domain",
    "string_values",
    "vocabulary",
    "write_schema",
]

TRAINING = "TRAINING"
SERVING = "SERVING"

_TRUE = {"TRUE", "true", "SET", "set", "1", ""}
_FALSE = {"FALSE", "false", "CLEAR", "clear", "0"}
_FNS = statistics_pb2.FeatureNameStatistics


def _schema_type(stats_type: int) -> int:
    return {_FNS.INT: schema_pb2.INT, _FNS.FLOAT: schema_pb2.FLOAT,
            _FNS.STRING: schema_pb2.BYTES, _FNS.BYTES: schema_pb2.BYTES,
            _FNS.STRUCT: schema_pb2.STRUCT}[stats_type]


def _common(fs: statistics_pb2.FeatureNameStatistics) -> statistics_pb2.CommonStatistics:
    which = fs.WhichOneof("stats")
    return getattr(fs, which).common_stats if which else statistics_pb2.CommonStatistics()


def string_values(fs: statistics_pb2.FeatureNameStatistics) -> dict[str, float]:
    """Values with their counts, from the rank histogram (all values up to its size) or else
    the top values, as TFDV's ``GetStringValuesWithCounts``."""
    ss = fs.string_stats
    if ss.rank_histogram.buckets:
        return {b.label: b.sample_count for b in ss.rank_histogram.buckets}
    return {t.value: t.frequency for t in ss.top_values}


def _is_int(text: str) -> bool:
    return re.fullmatch(r"\s*[-+]?\d+\s*", text) is not None


def infer_schema(stats: statistics_pb2.DatasetFeatureStatisticsList
                 | statistics_pb2.DatasetFeatureStatistics, *,
                 infer_feature_shape: bool = True, max_string_domain_size: int = 100,
                 infer_ranges: bool = False, label: str | None = None,
                 drift_threshold: float | None = None,
                 skew_threshold: float | None = None) -> schema_pb2.Schema:
    """A schema for data like the data these statistics describe (see the module docstring)."""
    dataset = dataset_statistics(stats)
    schema = schema_pb2.Schema()
    for fs in dataset.features:
        name = feature_name(fs)
        feature = schema.feature.add(name=name, type=_schema_type(fs.type))
        common = _common(fs)
        _presence_and_shape(common, feature, infer_feature_shape)
        if common.num_non_missing > 0:
            _domain(fs, feature, schema, max_string_domain_size)
            if infer_ranges:
                _range(fs, feature)
        categorical = is_categorical(feature, schema)
        for threshold, comparator in ((drift_threshold, feature.drift_comparator),
                                      (skew_threshold, feature.skew_comparator)):
            if threshold is None or (fs.type in (_FNS.STRING, _FNS.BYTES) and not categorical):
                continue
            if categorical and fs.type in (_FNS.STRING, _FNS.BYTES):
                comparator.infinity_norm.threshold = threshold
            else:
                comparator.jensen_shannon_divergence.threshold = threshold
                if fs.type == _FNS.FLOAT:
                    # continuous, often heavy-tailed: equal-width buckets move with the max,
                    # equal-mass ones do not; integers keep TFDV's equal-width default
                    comparator.jensen_shannon_divergence.source.type = \
                        schema_pb2.HistogramSelection.QUANTILES
    if label:
        if schema_feature(schema, label) is None:
            raise DataError(f"the label '{label}' is not a feature of these statistics",
                            hint="pass the name of the label column", column=label)
        schema.default_environment.extend([TRAINING, SERVING])
        schema_feature(schema, label).not_in_environment.append(SERVING)
    return schema


def for_requests(table: pa.Table, schema: schema_pb2.Schema
                 ) -> tuple[pa.Table, schema_pb2.Schema]:
    """A model's logged requests and the schema they are checked against. The logs hold what
    the model's signature takes, not what the data held:

    * only the model's inputs: a feature no logged request holds (the key column, a column
      the trainer does not take) is not expected in SERVING. Every answered request carried
      every input of the signature, so a feature absent from all of them is not one of its
      inputs, not a dropped column;
    * in the signature's dtype: an INT feature the model takes as float32 comes back as
      floats. A float column of whole numbers is read as the INT it was; one with fractions
      stays float, and its type is reported as a change in the data."""
    import numpy as np
    import pyarrow.compute as pc

    out = schema_pb2.Schema()
    out.CopyFrom(schema)
    if SERVING not in out.default_environment:
        out.default_environment.extend([TRAINING, SERVING])
    logged = set(table.column_names)
    for feature in out.feature:
        if feature.name not in logged:
            if SERVING not in feature.not_in_environment:
                feature.not_in_environment.append(SERVING)
            continue
        column = table.column(feature.name)
        if feature.type != schema_pb2.INT or not pa.types.is_floating(
                getattr(column.type, "value_type", column.type)):
            continue
        values = pc.list_flatten(column) if pa.types.is_list(column.type) else column
        finite = values.drop_null().to_numpy(zero_copy_only=False)
        if finite.size and not (np.isfinite(finite).all()
                                and (np.floor(finite) == finite).all()
                                and np.abs(finite).max() < 2 ** 53):
            continue
        target = pa.list_(pa.int64()) if pa.types.is_list(column.type) else pa.int64()
        table = table.set_column(table.column_names.index(feature.name), feature.name,
                                 column.cast(target))
    return table, out


def _presence_and_shape(common: statistics_pb2.CommonStatistics, feature: schema_pb2.Feature,
                        infer_shape: bool) -> None:
    present = common.num_non_missing
    feature.presence.min_count = 1 if present >= 1 else 0
    if present <= 0:
        return
    if common.num_missing == 0:
        feature.presence.min_fraction = 1.0
    lo, hi = common.min_num_values, common.max_num_values
    if infer_shape and common.num_missing == 0 and lo == hi and lo > 0:
        feature.shape.dim.add(size=lo)
    elif lo > 0:
        feature.value_count.min = lo if lo == hi else 1
        if lo == hi:
            feature.value_count.max = hi


def _domain(fs: statistics_pb2.FeatureNameStatistics, feature: schema_pb2.Feature,
            schema: schema_pb2.Schema, max_size: int) -> None:
    if fs.type == _FNS.BYTES:
        return
    if fs.type == _FNS.INT:
        if fs.num_stats.min >= 0 and fs.num_stats.max == 1:
            feature.bool_domain.SetInParent()
        return
    if fs.type != _FNS.STRING:
        return
    tokens = list(string_values(fs))
    if 0 < len(tokens) <= 2 and _bool_tokens(tokens):
        feature.bool_domain.SetInParent()
        true = next((t for t in tokens if t in _TRUE), None)
        false = next((t for t in tokens if t in _FALSE), None)
        if true is not None:
            feature.bool_domain.true_value = true
        if false is not None:
            feature.bool_domain.false_value = false
    elif tokens and all(_is_int(t) for t in tokens):
        feature.int_domain.SetInParent()
    elif 0 < len(tokens) <= max_size:
        domain = schema.string_domain.add(name=_new_domain_name(schema, feature.name))
        domain.value.extend(sorted(tokens, key=lambda t: t.encode("utf-8")))
        feature.domain = domain.name


def _bool_tokens(tokens: list[str]) -> bool:
    true_seen = false_seen = False
    for token in tokens:
        if not true_seen and token in _TRUE:
            true_seen = True
        elif not false_seen and token in _FALSE:
            false_seen = True
        else:
            return False
    return True


def _new_domain_name(schema: schema_pb2.Schema, candidate: str) -> str:
    names = {d.name for d in schema.string_domain}
    name, index = candidate, 1
    while name in names:
        index += 1
        name = f"{candidate}{index}"
    return name


def _range(fs: statistics_pb2.FeatureNameStatistics, feature: schema_pb2.Feature) -> None:
    which = feature.WhichOneof("domain_info")
    if fs.type == _FNS.INT and which is None:
        feature.int_domain.min = int(fs.num_stats.min)
        feature.int_domain.max = int(fs.num_stats.max)
    elif fs.type == _FNS.FLOAT and which is None:
        feature.float_domain.min = fs.num_stats.min
        feature.float_domain.max = fs.num_stats.max


# -- lookups -----------------------------------------------------------------------------------

def schema_feature(schema: schema_pb2.Schema, name: str) -> schema_pb2.Feature | None:
    for feature in schema.feature:
        if feature.name == name:
            return feature
    return None


def string_domain(schema: schema_pb2.Schema,
                  feature: schema_pb2.Feature) -> schema_pb2.StringDomain | None:
    """The feature's string domain: its own, or the schema-level one it names."""
    if feature.HasField("string_domain"):
        return feature.string_domain
    if feature.HasField("domain"):
        for domain in schema.string_domain:
            if domain.name == feature.domain:
                return domain
    return None


def is_categorical(feature: schema_pb2.Feature, schema: schema_pb2.Schema) -> bool:
    """A feature with a vocabulary (string domain) or a bool domain over strings."""
    if string_domain(schema, feature) is not None:
        return True
    return feature.type == schema_pb2.BYTES and feature.HasField("bool_domain")


def vocabulary(name: str, *, schema: schema_pb2.Schema | None = None,
               stats: statistics_pb2.DatasetFeatureStatisticsList | None = None) -> list[str]:
    """A categorical feature's values: the schema's string domain when it has one, else every
    value in the statistics' rank histogram (most frequent first)."""
    if schema is not None:
        feature = schema_feature(schema, name)
        domain = string_domain(schema, feature) if feature is not None else None
        if domain is not None:
            return list(domain.value)
    if stats is not None:
        fs = feature_statistics(dataset_statistics(stats), name)
        if fs is not None and fs.HasField("string_stats"):
            return list(string_values(fs))
    raise DataError(f"no vocabulary for feature '{name}'",
                    hint="it needs a string domain in the schema or string statistics",
                    column=name)


# -- files -------------------------------------------------------------------------------------

def read_schema(path: str | os.PathLike[str]) -> schema_pb2.Schema:
    """Read a ``Schema`` text proto (as TFDV's ``load_schema_text`` does)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"schema file {path} does not exist",
                        hint="check the schema_path parameter, or leave it empty to infer a "
                        "schema", file=str(path))
    schema = schema_pb2.Schema()
    try:
        text_format.Parse(path.read_text(encoding="utf-8"), schema)
    except text_format.ParseError as err:
        raise DataError(f"schema file {path} is not a valid Schema text proto: {err}",
                        hint="fix the line named above; the file must be a "
                        "tensorflow_metadata Schema in text format (schema.pbtxt)",
                        file=str(path)) from err
    except UnicodeDecodeError as err:
        raise DataError(f"schema file {path} is not UTF-8 text",
                        hint="a schema.pbtxt is a text proto; binary schemas are not "
                        "supported", file=str(path)) from err
    return schema


def write_schema(schema: schema_pb2.Schema, path: str | os.PathLike[str]) -> Path:
    """Write ``schema`` as a text proto, atomically."""
    from workbench.runs.atomic import atomic_write_text

    return atomic_write_text(Path(path), text_format.MessageToString(schema))
