"""Validation: statistics against a schema, against a baseline (drift) and against serving data
(skew), with TFDV's anomaly types, severities and comparator semantics.

:func:`validate_statistics` returns a :class:`ValidationReport`: the ``Anomalies`` proto TFDV
writes (keyed by feature, one reason per problem, the schema as ``baseline``, drift and skew
measurements in ``drift_skew_info``) and, for people, findings that say what was expected and
what was found, with numbers. Given the data itself (``data=``), out-of-range values, unexpected
strings and missing values are counted exactly and the first rows are named.

Severity follows TFDV: every anomaly is an ERROR unless ``severity_overrides`` says otherwise.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

from workbench._format import number
from workbench._ranking import most_frequent
from workbench.data.compare import jensen_shannon, l_infinity
from workbench.data.evidence import Evidence
from workbench.data.report import Comparison, Finding, ValidationReport, anomalies_proto
from workbench.data.schema import schema_feature, string_domain, string_values
from workbench.data.stats import dataset_statistics, feature_name
from workbench.errors import DataError

__all__ = ["Comparison", "Finding", "ValidationReport", "validate_statistics"]

_FNS = statistics_pb2.FeatureNameStatistics
_STATS_TYPE_NAMES = {_FNS.INT: "INT", _FNS.FLOAT: "FLOAT", _FNS.STRING: "STRING",
                     _FNS.BYTES: "BYTES", _FNS.STRUCT: "STRUCT"}
_SCHEMA_TYPE_OF = {_FNS.INT: schema_pb2.INT, _FNS.FLOAT: schema_pb2.FLOAT,
                   _FNS.STRING: schema_pb2.BYTES, _FNS.BYTES: schema_pb2.BYTES,
                   _FNS.STRUCT: schema_pb2.STRUCT}


def _common(fs: _FNS) -> statistics_pb2.CommonStatistics:
    which = fs.WhichOneof("stats")
    return getattr(fs, which).common_stats if which else statistics_pb2.CommonStatistics()


def _in_environment(feature: schema_pb2.Feature, schema: schema_pb2.Schema,
                    environment: str | None) -> bool:
    if environment is None:
        return True
    if environment in feature.in_environment:
        return True
    if environment in feature.not_in_environment:
        return False
    return environment in schema.default_environment


def _deprecated(feature: schema_pb2.Feature) -> bool:
    return feature.deprecated or feature.lifecycle_stage in (
        schema_pb2.PLANNED, schema_pb2.ALPHA, schema_pb2.DEPRECATED, schema_pb2.DEBUG_ONLY)


def _required(feature: schema_pb2.Feature, schema: schema_pb2.Schema,
              environment: str | None) -> bool:
    if _deprecated(feature):
        return False
    if feature.presence.min_count <= 0 and feature.presence.min_fraction <= 0:
        return False
    return _in_environment(feature, schema, environment)


def _fmt(x: float) -> str:
    """Up to six significant digits, as TFDV prints numbers."""
    return number(x, 6)


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "?"


class _Checker:
    """Checks one dataset's statistics against the schema."""

    def __init__(self, schema: schema_pb2.Schema, dataset: statistics_pb2.DatasetFeatureStatistics,
                 evidence: Evidence, environment: str | None, label: str) -> None:
        self.schema = schema
        self.dataset = dataset
        self.evidence = evidence
        self.environment = environment
        self.label = label
        self.findings: list[Finding] = []

    def add(self, feature: str, type_: str, short: str, description: str, **more: Any) -> None:
        self.findings.append(Finding(feature, type_, short, description, dataset=self.label,
                                     **more))

    def run(self) -> list[Finding]:
        seen = set()
        for fs in self.dataset.features:
            name = feature_name(fs)
            seen.add(name)
            feature = schema_feature(self.schema, name)
            if feature is None:
                self.add(name, "SCHEMA_NEW_COLUMN", "New column",
                         "the column is in the data but not in the schema",
                         expected="not in the data", found="a column of type "
                         f"{_STATS_TYPE_NAMES.get(fs.type, fs.type)}")
            elif not _deprecated(feature):
                self.feature(feature, fs)
        for feature in self.schema.feature:
            if feature.name not in seen and _required(feature, self.schema, self.environment):
                self.add(feature.name, "SCHEMA_MISSING_COLUMN", "Column dropped",
                         f"the schema requires this column but {self.evidence.source} has no "
                         f"column '{feature.name}'", expected="a column",
                         found="no such column")
        self.dataset_checks()
        return self.findings

    def dataset_checks(self) -> None:
        constraints = self.schema.dataset_constraints
        n = self.dataset.num_examples
        if constraints.HasField("min_examples_count") and n < constraints.min_examples_count:
            self.add("(dataset)", "DATASET_LOW_NUM_EXAMPLES", "Low num examples in dataset",
                     f"{n:,} examples, fewer than the schema's minimum "
                     f"{constraints.min_examples_count:,}",
                     expected=f">= {constraints.min_examples_count:,} examples",
                     found=f"{n:,} examples")
        if constraints.HasField("max_examples_count") and n > constraints.max_examples_count:
            self.add("(dataset)", "DATASET_HIGH_NUM_EXAMPLES", "High num examples in dataset",
                     f"{n:,} examples, more than the schema's maximum "
                     f"{constraints.max_examples_count:,}",
                     expected=f"<= {constraints.max_examples_count:,} examples",
                     found=f"{n:,} examples")

    def feature(self, feature: schema_pb2.Feature, fs: _FNS) -> None:
        name = feature.name
        common = _common(fs)
        n = self.dataset.num_examples
        present = common.num_non_missing
        if present == 0:
            if _required(feature, self.schema, self.environment):
                self.add(name, "FEATURE_TYPE_NOT_PRESENT", "Column dropped",
                         f"the column has no value in any of the {n:,} rows",
                         expected="values", found="no values", count=n, share=1.0)
            return
        if not _in_environment(feature, self.schema, self.environment):
            self.add(name, "SCHEMA_NEW_COLUMN", "Column missing in environment",
                     f"the column is present, but the schema leaves it out of the "
                     f"{self.environment} environment",
                     expected=f"absent in {self.environment}", found="present")
        self.valency(feature, common)
        self.shape(feature, common)
        self.presence(feature, common, n)
        if _SCHEMA_TYPE_OF.get(fs.type) != feature.type:
            self.add(name, "UNEXPECTED_DATA_TYPE", "Unexpected data type",
                     f"expected data of type {schema_pb2.FeatureType.Name(feature.type)} but "
                     f"got {_STATS_TYPE_NAMES.get(fs.type, fs.type)}",
                     expected=schema_pb2.FeatureType.Name(feature.type),
                     found=_STATS_TYPE_NAMES.get(fs.type, str(fs.type)))
            return
        self.domain(feature, fs)
        self.unique(feature, fs)

    def valency(self, feature: schema_pb2.Feature, common: statistics_pb2.CommonStatistics
                ) -> None:
        if not feature.HasField("value_count"):
            return
        vc = feature.value_count
        if vc.HasField("min") and common.min_num_values < vc.min:
            self.add(feature.name, "FEATURE_TYPE_LOW_NUMBER_VALUES", "Missing values",
                     f"some examples have {common.min_num_values} values, fewer than the "
                     f"schema's minimum {vc.min}", expected=f">= {vc.min} values per example",
                     found=f"{common.min_num_values}")
        if vc.HasField("max") and common.max_num_values > vc.max:
            self.add(feature.name, "FEATURE_TYPE_HIGH_NUMBER_VALUES", "Superfluous values",
                     f"some examples have {common.max_num_values} values, more than the "
                     f"schema's maximum {vc.max}", expected=f"<= {vc.max} values per example",
                     found=f"{common.max_num_values}")

    def shape(self, feature: schema_pb2.Feature, common: statistics_pb2.CommonStatistics
              ) -> None:
        if not feature.HasField("shape"):
            return
        expected = 1
        for dim in feature.shape.dim:
            expected *= dim.size
        lo, hi = common.min_num_values, common.max_num_values
        if lo != hi or lo == 0 or common.num_missing:
            why = (f"it is missing in {common.num_missing:,} rows" if common.num_missing
                   else f"it has {lo} to {hi} values per example")
            self.add(feature.name, "INVALID_FEATURE_SHAPE", "Feature shape dropped",
                     f"the schema gives the feature a fixed shape, but {why}",
                     expected=f"exactly {expected} value(s) in every row",
                     found=why)
        elif lo != expected:
            self.add(feature.name, "INVALID_FEATURE_SHAPE", "Feature shape dropped",
                     f"the feature has {lo} values per example, not the {expected} its shape "
                     "says", expected=f"{expected} values", found=f"{lo} values")

    def presence(self, feature: schema_pb2.Feature, common: statistics_pb2.CommonStatistics,
                 n: int) -> None:
        p = feature.presence
        present, missing = common.num_non_missing, common.num_missing
        if p.HasField("min_count") and present < p.min_count:
            self.add(feature.name, "FEATURE_TYPE_LOW_NUMBER_PRESENT", "Column dropped",
                     f"present in {present:,} rows, fewer than the schema's minimum count "
                     f"{p.min_count:,}", expected=f">= {p.min_count:,} rows",
                     found=f"{present:,} rows")
        total = present + missing
        if p.HasField("min_fraction") and total and present / total < p.min_fraction:
            rows = self.evidence.missing_rows(feature.name)
            self.add(feature.name, "FEATURE_TYPE_LOW_FRACTION_PRESENT", "Column dropped",
                     f"present in {present:,} of {total:,} rows ({_pct(present, total)}), "
                     f"below the schema's minimum of {100 * p.min_fraction:g}%; "
                     f"missing in {missing:,} rows" + _rows_text(rows),
                     expected=f">= {100 * p.min_fraction:g}% present",
                     found=f"{_pct(present, total)} present", count=missing,
                     share=missing / total, rows=rows)

    def domain(self, feature: schema_pb2.Feature, fs: _FNS) -> None:
        which = feature.WhichOneof("domain_info")
        if which in ("domain", "string_domain"):
            domain = string_domain(self.schema, feature)
            if domain is None:
                self.add(feature.name, "INVALID_SCHEMA_SPECIFICATION", "Invalid schema",
                         f"the schema names the string domain '{feature.domain}', which it "
                         "does not define", expected="a defined domain", found="none")
                return
            self.string_domain(feature, fs, domain)
        elif which == "int_domain" and fs.type == _FNS.INT:
            self.numeric_range(feature, fs, feature.int_domain, "INT")
        elif which == "float_domain" and fs.type == _FNS.FLOAT:
            self.numeric_range(feature, fs, feature.float_domain, "FLOAT")
        elif which == "bool_domain" and fs.type == _FNS.INT:
            num = fs.num_stats
            if num.min < 0 or num.max > 1:
                bad = num.min if num.min < 0 else num.max
                type_ = "BOOL_TYPE_SMALL_INT" if num.min < 0 else "BOOL_TYPE_BIG_INT"
                self.add(feature.name, type_, "Non-boolean values",
                         f"integers such as {_fmt(bad)} are not in {{0, 1}}",
                         expected="0 or 1", found=f"{_fmt(bad)}")
        elif which == "bool_domain" and fs.type == _FNS.STRING:
            valid = {v for v in (feature.bool_domain.true_value,
                                 feature.bool_domain.false_value) if v}
            odd = [v for v in string_values(fs) if v not in valid]
            if odd:
                self.add(feature.name, "BOOL_TYPE_UNEXPECTED_STRING", "Non-boolean values",
                         f"saw the value '{odd[0]}' instead of {sorted(valid)}",
                         expected=" or ".join(sorted(valid)), found=odd[0])

    def string_domain(self, feature: schema_pb2.Feature, fs: _FNS,
                      domain: schema_pb2.StringDomain) -> None:
        valid = set(domain.value)
        counts = string_values(fs)
        missing = {v: c for v, c in counts.items() if v not in valid}
        if not missing:
            return
        total = _common(fs).tot_num_values or sum(counts.values())
        off = sum(missing.values())
        max_off = 1.0 - feature.distribution_constraints.min_domain_mass \
            if feature.distribution_constraints.HasField("min_domain_mass") else 0.0
        if not (off / total > max_off or max_off == 0):
            return
        shown = most_frequent(missing)
        listed = ", ".join(f"'{v}' ({int(c):,} rows, {_pct(c, total)})" for v, c in shown[:5])
        more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
        rows = self.evidence.rows_not_in(feature.name, valid)
        self.add(feature.name, "ENUM_TYPE_UNEXPECTED_STRING_VALUES", "Unexpected string values",
                 f"{int(off):,} of {int(total):,} values ({_pct(off, total)}) are not in the "
                 f"schema's domain of {len(valid)} values: {listed}{more}" + _rows_text(rows),
                 expected=f"one of {len(valid)} values", found=", ".join(v for v, _ in shown[:5]),
                 count=int(off), share=off / total, rows=rows)

    def numeric_range(self, feature: schema_pb2.Feature, fs: _FNS, dom: Any, kind: str) -> None:
        num = fs.num_stats
        total = _common(fs).tot_num_values
        for side in ("min", "max"):
            if not dom.HasField(side):
                continue
            bound = getattr(dom, side)
            seen = num.min if side == "min" else num.max
            if (side == "min" and seen >= bound) or (side == "max" and seen <= bound):
                continue
            count, rows = self.evidence.count_outside(feature.name, side, bound)
            word = "below the schema minimum" if side == "min" else "above the schema maximum"
            extreme = "lowest" if side == "min" else "highest"
            counted = (f"{count:,} of {total:,} values ({_pct(count, total)}) are "
                       if count is not None else "values are ")
            if kind == "INT":
                type_ = "INT_TYPE_SMALL_INT" if side == "min" else "INT_TYPE_BIG_INT"
            else:
                type_ = "FLOAT_TYPE_SMALL_FLOAT" if side == "min" else "FLOAT_TYPE_BIG_FLOAT"
            self.add(feature.name, type_, "Out-of-range values",
                     f"{counted}{word} {_fmt(bound)}; the {extreme} is {_fmt(seen)}"
                     + _rows_text(rows),
                     expected=f"{'>=' if side == 'min' else '<='} {_fmt(bound)}",
                     found=f"{extreme} {_fmt(seen)}", count=count,
                     share=None if count is None or not total else count / total, rows=rows)

    def unique(self, feature: schema_pb2.Feature, fs: _FNS) -> None:
        if not feature.HasField("unique_constraints"):
            return
        uc = feature.unique_constraints
        if not fs.HasField("string_stats"):
            self.add(feature.name, "FEATURE_TYPE_NO_UNIQUE", "No unique values",
                     "the schema constrains unique values, but the feature is not categorical")
            return
        unique = fs.string_stats.unique
        if uc.HasField("min") and unique < uc.min:
            self.add(feature.name, "FEATURE_TYPE_LOW_UNIQUE", "Low number of unique values",
                     f"expected at least {uc.min} unique values but found only {unique}",
                     expected=f">= {uc.min}", found=str(unique))
        if uc.HasField("max") and unique > uc.max:
            self.add(feature.name, "FEATURE_TYPE_HIGH_UNIQUE", "High number of unique values",
                     f"expected no more than {uc.max} unique values but found {unique}",
                     expected=f"<= {uc.max}", found=str(unique))


def _rows_text(rows: list[int]) -> str:
    return f" (first rows: {', '.join(str(r) for r in rows)})" if rows else ""


# -- drift and skew ----------------------------------------------------------------------------

_CONTEXT = {"drift": ("current", "previous"), "skew": ("training", "serving")}


def _compare(schema: schema_pb2.Schema, current: statistics_pb2.DatasetFeatureStatistics,
             control: statistics_pb2.DatasetFeatureStatistics, kind: str, control_name: str,
             findings: list[Finding]) -> list[Comparison]:
    out = []
    mine = {feature_name(fs): fs for fs in current.features}
    theirs = {feature_name(fs): fs for fs in control.features}
    for feature in schema.feature:
        comparator = feature.drift_comparator if kind == "drift" else feature.skew_comparator
        linf = comparator.infinity_norm.HasField("threshold")
        jsd = comparator.jensen_shannon_divergence.HasField("threshold")
        if not (linf or jsd) or feature.name not in mine or _deprecated(feature):
            continue
        if feature.name not in theirs:
            findings.append(Finding(
                feature.name, "COMPARATOR_CONTROL_DATA_MISSING", f"{control_name} data missing",
                f"cannot measure {kind}: {control_name} has no column '{feature.name}'",
                expected=f"the column in {control_name}", found="no such column"))
            continue
        a, b = mine[feature.name], theirs[feature.name]
        if linf:
            d = l_infinity(a, b)
            if d is not None:
                out.append(Comparison(feature.name, kind, "L_INFTY", d.value,
                                      comparator.infinity_norm.threshold, d.key, d.share_a,
                                      d.share_b))
        if jsd:
            d = jensen_shannon(a, b, comparator.jensen_shannon_divergence.source.type)
            if d is not None:
                out.append(Comparison(feature.name, kind, "JENSEN_SHANNON_DIVERGENCE", d.value,
                                      comparator.jensen_shannon_divergence.threshold))
    for c in out:
        if c.exceeded:
            finding = _comparison_finding(c, control_name)
            finding.description += _numeric_shift(mine[c.feature], theirs[c.feature], c.kind,
                                                  control_name)
            findings.append(finding)
    return out


def _numeric_shift(a: _FNS, b: _FNS, kind: str, control_name: str) -> str:
    """'; mean 148 now vs 49.5 in the baseline, median …' for numeric features."""
    if not (a.HasField("num_stats") and b.HasField("num_stats")):
        return ""
    now = "now" if kind == "drift" else "in training"
    na, nb = a.num_stats, b.num_stats
    return (f"; mean {_fmt(na.mean)} {now} vs {_fmt(nb.mean)} in {control_name}, median "
            f"{_fmt(na.median)} vs {_fmt(nb.median)}, max {_fmt(na.max)} vs {_fmt(nb.max)}")


def _comparison_finding(c: Comparison, control_name: str) -> Finding:
    now, before = _CONTEXT[c.kind]
    if c.metric == "L_INFTY":
        moved = ""
        if c.key is not None:
            moved = (f"; '{c.key}' moved most: {_pct(c.share_current or 0, 1)} of values "
                     f"{'now' if c.kind == 'drift' else 'in training'}, "
                     f"{_pct(c.share_control or 0, 1)} in {control_name}")
        return Finding(c.feature, "COMPARATOR_L_INFTY_HIGH",
                       f"High Linfty distance between {now} and {before}",
                       f"{c.kind} against {control_name}: L-infinity distance "
                       f"{_fmt(c.value)} is above the threshold {_fmt(c.threshold)}{moved}",
                       expected=f"<= {_fmt(c.threshold)}", found=_fmt(c.value))
    return Finding(c.feature, "COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH",
                   f"High approximate Jensen-Shannon divergence between {now} and {before}",
                   f"{c.kind} against {control_name}: approximate Jensen-Shannon divergence "
                   f"{_fmt(c.value)} is above the threshold {_fmt(c.threshold)}",
                   expected=f"<= {_fmt(c.threshold)}", found=_fmt(c.value))


def validate_statistics(stats: statistics_pb2.DatasetFeatureStatisticsList
                        | statistics_pb2.DatasetFeatureStatistics,
                        schema: schema_pb2.Schema, *, environment: str | None = None,
                        previous: Any = None, serving: Any = None, data: pa.Table | None = None,
                        source: str = "the data", previous_name: str = "the baseline",
                        serving_name: str = "the serving data", compared: Any = None,
                        label: str = "data",
                        severity_overrides: dict[str, str] | None = None) -> ValidationReport:
    """Check ``stats`` against ``schema`` (in ``environment``), against ``previous`` statistics
    (drift comparators) and ``serving`` statistics (skew comparators).

    ``data`` (the table the statistics describe) lets messages give exact counts and rows.
    ``compared`` are the statistics drift and skew are measured on when they differ from
    ``stats`` (e.g. the training split, while the schema checks cover all rows). ``label``
    names the dataset in findings. ``severity_overrides`` maps anomaly type names to
    ``"WARNING"`` or ``"ERROR"``.
    """
    dataset = dataset_statistics(stats)
    current = dataset if compared is None else dataset_statistics(compared)
    evidence = Evidence(data, source)
    findings = _Checker(schema, dataset, evidence, environment, label).run()
    comparisons: list[Comparison] = []
    if previous is not None:
        comparisons += _compare(schema, current, dataset_statistics(previous), "drift",
                                previous_name, findings)
    if serving is not None:
        comparisons += _compare(schema, current, dataset_statistics(serving), "skew",
                                serving_name, findings)
    for f in findings:
        override = (severity_overrides or {}).get(f.type)
        if override is not None:
            if override not in ("WARNING", "ERROR"):
                raise DataError(f"unknown severity '{override}' for anomaly type {f.type}",
                                hint="use WARNING or ERROR")
            f.severity = override
    return ValidationReport(findings, comparisons,
                            anomalies_proto(schema, findings, comparisons,
                                             dataset.num_examples))
