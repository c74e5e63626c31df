"""Validation results: findings for people, comparisons, and the ``Anomalies`` proto for TFDV.

A :class:`Finding` is one anomaly of one feature in TFDV's terms (type, short description,
severity) with a description that says what was expected and what was found, with numbers. A
:class:`Comparison` is one drift or skew measurement. :func:`anomalies_proto` assembles both into
the proto TFDV's ``validate_statistics`` returns: one ``AnomalyInfo`` per feature with a reason
per problem ("Multiple errors" when there are several), the schema as ``baseline``, and drift
and skew measurements in ``drift_skew_info``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

__all__ = ["Comparison", "Finding", "ValidationReport", "anomalies_proto"]

_AI = anomalies_pb2.AnomalyInfo


@dataclass
class Finding:
    """One anomaly of one feature, in TFDV's terms and in words."""

    feature: str
    type: str  # AnomalyInfo.Type name, e.g. "INT_TYPE_SMALL_INT"
    short: str  # TFDV's short description, e.g. "Out-of-range values"
    description: str  # what was expected and what was found, with numbers
    severity: str = "ERROR"
    expected: str = ""
    found: str = ""
    count: int | None = None
    share: float | None = None
    rows: list[int] = field(default_factory=list)
    dataset: str = "data"

    def sentence(self) -> str:
        where = "" if self.dataset == "data" else f"{self.dataset} data, "
        return f"{where}{self.feature}: {self.description}"

    def row(self) -> dict[str, Any]:
        return {"feature": self.feature, "dataset": self.dataset, "severity": self.severity,
                "type": self.type, "short": self.short, "description": self.description,
                "expected": self.expected, "found": self.found, "count": self.count,
                "share": None if self.share is None else round(self.share, 6),
                "rows": self.rows}


@dataclass
class Comparison:
    """One drift or skew measurement of one feature."""

    feature: str
    kind: str  # "drift" | "skew"
    metric: str  # "L_INFTY" | "JENSEN_SHANNON_DIVERGENCE"
    value: float
    threshold: float
    key: str | None = None
    share_current: float | None = None
    share_control: float | None = None

    @property
    def exceeded(self) -> bool:
        return self.value > self.threshold

    def row(self) -> dict[str, Any]:
        return {"feature": self.feature, "kind": self.kind, "metric": self.metric,
                "value": round(self.value, 6), "threshold": self.threshold,
                "exceeded": self.exceeded, "key": self.key,
                "share_current": _r(self.share_current), "share_control": _r(self.share_control)}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


@dataclass
class ValidationReport:
    findings: list[Finding]
    comparisons: list[Comparison]
    anomalies: anomalies_pb2.Anomalies

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "ERROR"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "WARNING"]

    @property
    def passed(self) -> bool:
        return not self.errors

    def reasons(self) -> list[str]:
        """Gate reasons: one sentence per error-level anomaly."""
        return [f.sentence() for f in self.errors]

    def table(self) -> list[dict[str, Any]]:
        return [f.row() for f in self.findings]


# -- the proto ---------------------------------------------------------------------------------

def anomalies_proto(schema: schema_pb2.Schema, findings: list[Finding],
                     comparisons: list[Comparison], num_examples: int
                     ) -> anomalies_pb2.Anomalies:
    out = anomalies_pb2.Anomalies(anomaly_name_format=anomalies_pb2.Anomalies.SERIALIZED_PATH)
    out.baseline.CopyFrom(schema)
    out.data_missing = num_examples == 0
    for f in findings:
        if f.feature == "(dataset)":
            info = out.dataset_anomaly_info
        else:
            info = out.anomaly_info[f.feature]
            if not info.path.step:
                info.path.step.append(f.feature)
        info.reason.add(type=_AI.Type.Value(f.type), short_description=f.short,
                        description=f.description)
        severity = _AI.Severity.Value(f.severity)
        info.severity = max(info.severity, severity)
        if len(info.reason) == 1:
            info.short_description, info.description = f.short, f.description
        else:
            info.short_description = "Multiple errors"
            info.description = " ".join(r.description for r in info.reason)
    by_feature: dict[str, anomalies_pb2.DriftSkewInfo] = {}
    for c in comparisons:
        info = by_feature.get(c.feature)
        if info is None:
            info = by_feature[c.feature] = out.drift_skew_info.add()
            info.path.step.append(c.feature)
        target = info.drift_measurements if c.kind == "drift" else info.skew_measurements
        target.add(type=anomalies_pb2.DriftSkewInfo.Measurement.Type.Value(c.metric),
                   value=c.value, threshold=c.threshold)
    return out


