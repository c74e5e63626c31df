"""Plain data for the stage's views: statistics, schema and anomalies as JSON-ready rows.

The widgets (``workbench.widgets``) draw these rows; the core builds them, so what a view shows
is tested without Jupyter. :func:`apply_schema_rows` is the way back: the schema editor's edited
rows applied to a ``Schema`` proto.
"""

from __future__ import annotations

import math
from typing import Any

from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from workbench.data.schema import is_categorical, schema_feature, string_domain
from workbench.data.stats import dataset_statistics, feature_name
from workbench.errors import DataError

__all__ = ["apply_schema_rows", "schema_rows", "statistics_rows"]

_FNS = statistics_pb2.FeatureNameStatistics
_TYPE = {_FNS.INT: "INT", _FNS.FLOAT: "FLOAT", _FNS.STRING: "STRING", _FNS.BYTES: "BYTES",
         _FNS.STRUCT: "STRUCT"}
_MAX_BARS = 12


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _feature_summary(fs: _FNS, num_examples: int) -> dict[str, Any]:
    which = fs.WhichOneof("stats")
    common = getattr(fs, which).common_stats if which else statistics_pb2.CommonStatistics()
    missing = common.num_missing
    out: dict[str, Any] = {
        "present": int(common.num_non_missing),
        "missing": int(missing),
        "missing_pct": round(100.0 * missing / num_examples, 3) if num_examples else 0.0,
    }
    if which == "num_stats":
        ns = fs.num_stats
        total = common.tot_num_values or 1
        out.update(mean=_num(ns.mean), std=_num(ns.std_dev), min=_num(ns.min),
                   median=_num(ns.median), max=_num(ns.max), zeros=int(ns.num_zeros),
                   zeros_pct=round(100.0 * ns.num_zeros / total, 3))
        for hist in ns.histograms:
            key = "quantiles" if hist.type == statistics_pb2.Histogram.QUANTILES else "hist"
            out[key] = [[_num(b.low_value), _num(b.high_value), round(b.sample_count, 4)]
                        for b in hist.buckets]
    elif which == "string_stats":
        ss = fs.string_stats
        total = common.tot_num_values or 1
        out.update(unique=int(ss.unique), avg_length=round(ss.avg_length, 3),
                   top=[[t.value, float(t.frequency)] for t in ss.top_values],
                   bars=[[t.value, round(t.frequency / total, 6)]
                         for t in list(ss.top_values)[:_MAX_BARS]])
    elif which == "bytes_stats":
        bs = fs.bytes_stats
        out.update(unique=int(bs.unique), avg_length=round(bs.avg_num_bytes, 3))
    return out


def statistics_rows(datasets: dict[str, Any]) -> dict[str, Any]:
    """``{"datasets": [names], "examples": {name: n}, "features": [...]}`` for named statistics
    (``DatasetFeatureStatisticsList`` or ``DatasetFeatureStatistics``); features in the order of
    the first dataset, then any the others add."""
    order: list[str] = []
    rows: dict[str, dict[str, Any]] = {}
    examples = {}
    names = []
    for label, stats in datasets.items():
        if stats is None:
            continue
        ds = dataset_statistics(stats)
        names.append(label)
        examples[label] = int(ds.num_examples)
        for fs in ds.features:
            name = feature_name(fs)
            row = rows.get(name)
            if row is None:
                kind = "categorical" if fs.type in (_FNS.STRING, _FNS.BYTES) else "numeric"
                row = rows[name] = {"name": name, "type": _TYPE.get(fs.type, str(fs.type)),
                                    "kind": kind, "stats": {}}
                order.append(name)
            row["stats"][label] = _feature_summary(fs, ds.num_examples)
    return {"datasets": names, "examples": examples, "features": [rows[n] for n in order]}


# -- schema rows -------------------------------------------------------------------------------

def _domain_text(feature: schema_pb2.Feature, schema: schema_pb2.Schema) -> tuple[str, list]:
    which = feature.WhichOneof("domain_info")
    domain = string_domain(schema, feature)
    if domain is not None:
        return "values", list(domain.value)
    if which == "bool_domain":
        return "bool", []
    if which in ("int_domain", "float_domain"):
        return "range", []
    return "", []


def _range(feature: schema_pb2.Feature) -> tuple[float | None, float | None]:
    which = feature.WhichOneof("domain_info")
    if which not in ("int_domain", "float_domain"):
        return None, None
    dom = getattr(feature, which)
    lo = dom.min if dom.HasField("min") else None
    hi = dom.max if dom.HasField("max") else None
    return lo, hi


def _threshold(comparator: schema_pb2.FeatureComparator) -> tuple[str, float | None]:
    if comparator.infinity_norm.HasField("threshold"):
        return "L_INFTY", comparator.infinity_norm.threshold
    if comparator.jensen_shannon_divergence.HasField("threshold"):
        return "JSD", comparator.jensen_shannon_divergence.threshold
    return "", None


def schema_rows(schema: schema_pb2.Schema) -> list[dict[str, Any]]:
    """One editable row per feature: type, required-ness, range, values, thresholds."""
    out = []
    for feature in schema.feature:
        domain_kind, values = _domain_text(feature, schema)
        lo, hi = _range(feature)
        drift_metric, drift = _threshold(feature.drift_comparator)
        skew_metric, skew = _threshold(feature.skew_comparator)
        out.append({
            "name": feature.name,
            "type": schema_pb2.FeatureType.Name(feature.type),
            "required": feature.presence.min_fraction >= 1.0,
            "min_fraction": feature.presence.min_fraction,
            "domain": domain_kind,
            "min": lo,
            "max": hi,
            "values": values,
            "categorical": is_categorical(feature, schema),
            "drift_metric": drift_metric or ("L_INFTY" if is_categorical(feature, schema)
                                             else "JSD"),
            "drift": drift,
            "skew_metric": skew_metric or ("L_INFTY" if is_categorical(feature, schema)
                                           else "JSD"),
            "skew": skew,
            "environments": [e for e in schema.default_environment
                             if e not in feature.not_in_environment],
        })
    return out


def _set_comparator(comparator: schema_pb2.FeatureComparator, metric: str,
                    value: float | None) -> None:
    if value is None:
        comparator.ClearField("infinity_norm")
        comparator.ClearField("jensen_shannon_divergence")
        return
    if not 0 <= value <= 1:
        raise DataError(f"a drift or skew threshold must be between 0 and 1, got {value}",
                        hint="L-infinity and Jensen-Shannon distances lie in [0, 1]")
    if metric == "L_INFTY":
        comparator.infinity_norm.threshold = value
    else:
        comparator.jensen_shannon_divergence.threshold = value


def apply_schema_rows(schema: schema_pb2.Schema, rows: list[dict[str, Any]]
                      ) -> schema_pb2.Schema:
    """A copy of ``schema`` with the editor's rows applied: required-ness, ranges, string
    values and thresholds. Unknown features are an error; unedited fields stay as they were."""
    out = schema_pb2.Schema()
    out.CopyFrom(schema)
    for row in rows:
        feature = schema_feature(out, row["name"])
        if feature is None:
            raise DataError(f"the schema has no feature '{row['name']}' to edit",
                            column=row["name"])
        if "required" in row:
            if row["required"]:
                feature.presence.min_fraction = 1.0
                feature.presence.min_count = max(feature.presence.min_count, 1)
            elif feature.presence.min_fraction >= 1.0:
                feature.presence.ClearField("min_fraction")
        _apply_range(feature, row)
        if "values" in row and string_domain(out, feature) is not None:
            values = [str(v) for v in row["values"] if str(v) != ""]
            if len(set(values)) != len(values):
                raise DataError(f"feature '{feature.name}': the values list repeats a value",
                                column=feature.name, hint="list each value once")
            domain = string_domain(out, feature)
            del domain.value[:]
            domain.value.extend(values)
        for key, comparator in (("drift", feature.drift_comparator),
                                ("skew", feature.skew_comparator)):
            if key in row:
                _set_comparator(comparator, row.get(f"{key}_metric") or "JSD", row[key])
        if feature.HasField("drift_comparator") and \
                feature.drift_comparator.ByteSize() == 0:
            feature.ClearField("drift_comparator")
        if feature.HasField("skew_comparator") and feature.skew_comparator.ByteSize() == 0:
            feature.ClearField("skew_comparator")
    return out


def _apply_range(feature: schema_pb2.Feature, row: dict[str, Any]) -> None:
    if "min" not in row and "max" not in row:
        return
    lo, hi = row.get("min"), row.get("max")
    if lo is not None and hi is not None and lo > hi:
        raise DataError(f"feature '{feature.name}': the minimum {lo} is above the maximum {hi}",
                        column=feature.name, hint="swap or correct the bounds")
    which = feature.WhichOneof("domain_info")
    if which not in (None, "int_domain", "float_domain"):
        if lo is None and hi is None:
            return
        raise DataError(f"feature '{feature.name}' has a {which}; a range needs a numeric "
                        "feature", column=feature.name)
    if feature.type == schema_pb2.INT:
        dom = feature.int_domain
        if lo is not None and float(lo) != int(lo) or hi is not None and float(hi) != int(hi):
            raise DataError(f"feature '{feature.name}' is INT; its bounds must be integers",
                            column=feature.name)
        cast = int
    elif feature.type == schema_pb2.FLOAT:
        dom = feature.float_domain
        cast = float
    else:
        raise DataError(f"feature '{feature.name}' is {schema_pb2.FeatureType.Name(feature.type)}"
                        "; only INT and FLOAT features have ranges", column=feature.name)
    for side, value in (("min", lo), ("max", hi)):
        if value is None:
            dom.ClearField(side)
        else:
            setattr(dom, side, cast(value))
    if not dom.HasField("min") and not dom.HasField("max") and not dom.name:
        feature.ClearField(which or ("int_domain" if cast is int else "float_domain"))
