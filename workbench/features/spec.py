"""The feature plan: which columns become model inputs, and how each is preprocessed.

Every column except the label and the split key is a feature, unless it is dropped with a note
(an ID-like categorical, an unsupported type, an empty column, one the user names, or one whose
stage-01 role is ``id``, ``text`` or ``ignore``). Numeric columns are imputed (with the stored
mean) and normalized (with the stored mean and variance), optionally bucketized; string columns
are looked up in a vocabulary (the schema's string domain, else the statistics' rank histogram /
top values) with out-of-vocabulary buckets; date/time columns (role ``datetime``, or an Arrow
timestamp/date type) are taken as int64 epoch seconds and turned into calendar parts inside the
model (:mod:`workbench.features.calendar`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.errors import ConfigError, DataError
from workbench.features import calendar
from workbench.features.stats import ColumnStats, quantile_boundaries

__all__ = ["ROLES", "EncodedInput", "FeaturePlan", "FeatureSpec", "input_name", "plan_features"]

#: the column roles of stage 01's data card (``card["roles"][column]["role"]``)
ROLES = ("numeric", "categorical", "datetime", "text", "id", "label", "ignore")

#: a string column with no schema domain and more distinct values than this share of its rows
#: (or more than ID_UNIQUE_MAX in all) is an identifier, not a category
ID_UNIQUE_FRACTION = 0.5
ID_UNIQUE_MAX = 100_000


def input_name(column: str, taken: Iterable[str] = ()) -> str:
    """A Keras-safe input name for a column (``od280/od315`` → ``od280_od315``), unique among
    ``taken``. Most columns keep their name unchanged."""
    name = re.sub(r"[^A-Za-z0-9_.\-]", "_", column).strip(".") or "feature"
    if not re.match(r"[A-Za-z_]", name):
        name = f"f_{name}"
    taken = set(taken)
    base, i = name, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name


@dataclass(frozen=True)
class EncodedInput:
    """One tensor the preprocessing hands to the model builder, shape ``(batch, 1)``.

    ``kind`` is ``dense`` (float32, already normalized or a 0/1 indicator) or ``index`` (int64 in
    ``[0, size)``: a vocabulary or bucket index, to embed or one-hot)."""

    name: str
    feature: str
    kind: str
    dtype: str
    size: int = 0


@dataclass
class FeatureSpec:
    name: str  # the column
    input: str  # the Keras input name (the column name unless it is not a valid name)
    kind: str  # numeric | categorical | datetime
    dtype: str  # float32 | string | int64 (datetime: epoch seconds, UTC)
    mean: float = 0.0
    variance: float = 1.0
    fill: float = 0.0  # imputation value for a missing number (datetime: epoch seconds)
    missing_indicator: bool = False
    vocabulary: list[str] = field(default_factory=list)
    oov_buckets: int = 1
    boundaries: list[float] = field(default_factory=list)

    def encoded(self) -> list[EncodedInput]:
        if self.kind == "categorical":
            return [EncodedInput(self.input, self.name, "index", "int64",
                                 len(self.vocabulary) + self.oov_buckets)]
        if self.kind == "datetime":
            out = [EncodedInput(f"{self.input}__{part}", self.name, "index", "int64", size)
                   for part, size in calendar.PARTS]
            out.append(EncodedInput(f"{self.input}__weekend", self.name, "dense", "float32"))
            if self.missing_indicator:
                out.append(EncodedInput(f"{self.input}__missing", self.name, "dense",
                                        "float32"))
            return out
        out = [EncodedInput(self.input, self.name, "dense", "float32")]
        if self.missing_indicator:
            out.append(EncodedInput(f"{self.input}__missing", self.name, "dense", "float32"))
        if self.boundaries:
            out.append(EncodedInput(f"{self.input}__bucket", self.name, "index", "int64",
                                    len(self.boundaries) + 1))
        return out

    def info(self) -> dict[str, Any]:
        """The entry of ``model_info.features`` (the contract with later stages)."""
        out: dict[str, Any] = {"name": self.name, "input": self.input, "dtype": self.dtype,
                               "kind": self.kind}
        if self.kind == "numeric":
            out.update(mean=_r(self.mean), variance=_r(self.variance), fill=_r(self.fill),
                       missing_indicator=self.missing_indicator)
            if self.boundaries:
                out["boundaries"] = [_r(b) for b in self.boundaries]
        elif self.kind == "datetime":
            out.update(format=calendar.FORMAT, range=calendar.describe_range(),
                       missing=f"{calendar.MISSING_SECONDS}, or any value outside the range",
                       fill=int(self.fill), missing_indicator=self.missing_indicator,
                       parts=[p for p, _ in calendar.PARTS] + ["weekend"])
        else:
            out.update(vocabulary_size=len(self.vocabulary), oov_buckets=self.oov_buckets,
                       vocabulary_head=self.vocabulary[:20])
        return out


def _r(x: float) -> float:
    return float(f"{x:.8g}")


@dataclass
class FeaturePlan:
    features: list[FeatureSpec]
    dropped: list[dict[str, str]]

    def encoded(self) -> list[EncodedInput]:
        return [e for f in self.features for e in f.encoded()]

    def feature(self, name: str) -> FeatureSpec:
        for f in self.features:
            if name in (f.name, f.input):
                return f
        raise ConfigError(f"'{name}' is not a feature of the model",
                          hint=f"features: {', '.join(f.name for f in self.features)}")

    def to_dict(self) -> dict[str, Any]:
        return {"features": [asdict(f) for f in self.features], "dropped": self.dropped}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeaturePlan:
        return cls([FeatureSpec(**f) for f in data["features"]], list(data["dropped"]))


def _kind_of(arrow_type: Any) -> str | None:
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return "datetime"
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type) \
            or pa.types.is_boolean(arrow_type) or pa.types.is_decimal(arrow_type):
        return "numeric"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) \
            or pa.types.is_dictionary(arrow_type):
        return "categorical"
    return None


def _roles(roles: Mapping[str, Any] | None) -> dict[str, tuple[str, str]]:
    """Column → (role, reason), from plain role names or the data card's role entries
    (``{"role": ..., "reason": ..., "guessed": ...}``)."""
    out: dict[str, tuple[str, str]] = {}
    for name, entry in (roles or {}).items():
        role, reason = (entry, "") if isinstance(entry, str) else \
            (str(entry.get("role", "")), str(entry.get("reason") or ""))
        if role not in ROLES:
            raise ConfigError(f"column '{name}' has role {role!r}",
                              hint=f"roles: {', '.join(ROLES)} (stage 01's feature_roles)",
                              parameter="feature_roles", column=name)
        out[name] = (role, reason)
    return out


def plan_features(columns: Mapping[str, Any], stats: Mapping[str, ColumnStats],
                  domains: Mapping[str, list[str]], *, label: str, key: str | None = None,
                  drop: Iterable[str] = (), bucketize: Mapping[str, Any] | None = None,
                  max_vocabulary: int = 1000, oov_buckets: int = 1,
                  roles: Mapping[str, Any] | None = None) -> FeaturePlan:
    """Plan the features from the training split's columns (name → Arrow type), the column
    statistics and the schema's string domains. No pass over the data.

    ``roles`` are stage 01's column roles (column → role name, or the data card's ``roles``
    entries): ``datetime`` columns become date/time features (int64 epoch seconds); ``id``,
    ``text`` and ``ignore`` columns are dropped with a reason; a column without a role is
    planned from its Arrow type."""
    drop = list(drop)
    role_of = _roles(roles)
    bucketize = dict(bucketize or {})
    for name in [*drop, *bucketize]:
        if name not in columns:
            raise ConfigError(f"parameter names column '{name}', which the data does not have",
                              hint=f"columns: {', '.join(columns)}", parameter=name)
    if oov_buckets < 1:
        raise ConfigError(f"oov_buckets must be at least 1, got {oov_buckets}",
                          parameter="oov_buckets")
    features: list[FeatureSpec] = []
    dropped: list[dict[str, str]] = []
    taken: list[str] = []
    for name, arrow_type in columns.items():
        if name == label or (key and name == key):
            continue
        if name in drop:
            dropped.append({"name": name, "reason": "left out by the drop_features parameter"})
            continue
        role, role_reason = role_of.get(name, ("", ""))
        why = _role_drop(name, role, role_reason)
        if why:
            dropped.append({"name": name, "reason": why})
            continue
        kind = _kind_of(arrow_type)
        if role == "datetime":
            if kind not in ("numeric", "datetime") or not _integral_or_time(arrow_type):
                raise DataError(
                    f"column '{name}' has role datetime but holds {arrow_type}",
                    hint="stage 01 stores date/time columns as int64 epoch seconds (UTC); "
                    "re-run 01_data_validation, or give the column another role with "
                    "feature_roles", column=name)
            kind = "datetime"
        if kind is None:
            dropped.append({"name": name, "reason": f"type {arrow_type} is neither a number "
                            "nor a string"})
            continue
        col = stats.get(name)
        if col is None:
            raise DataError(f"the training statistics have no column '{name}'",
                            hint="the statistics are out of date with the data; re-run stage "
                            "01_data_validation", column=name)
        spec = FeatureSpec(name, input_name(name, taken), kind,
                           {"categorical": "string", "datetime": "int64"}.get(kind, "float32"))
        if kind == "numeric":
            why = _numeric(spec, col, bucketize.get(name))
        elif kind == "datetime":
            if name in bucketize:
                raise ConfigError(f"bucketize names the date/time column '{name}'",
                                  hint="its hour, weekday, day and month are already "
                                  "categories; remove it from bucketize",
                                  parameter="bucketize")
            why = _datetime(spec, col)
        else:
            why = _categorical(spec, col, domains.get(name), max_vocabulary, oov_buckets)
        if why:
            dropped.append({"name": name, "reason": why})
            continue
        taken.append(spec.input)
        features.append(spec)
    if not features:
        raise DataError(f"no usable feature besides the label '{label}'"
                        + (f" and the key '{key}'" if key else ""),
                        hint="; ".join(f"{d['name']}: {d['reason']}" for d in dropped)
                        or "add feature columns to the data")
    return FeaturePlan(features, dropped)


def _role_drop(name: str, role: str, reason: str) -> str | None:
    """Why a column's role keeps it out of the model (None: it is a feature)."""
    because = f" ({reason})" if reason else ""
    if role == "id":
        return f"an identifier{because}: identifiers are never features"
    if role == "text":
        return (f"free text{because}: not a model feature; "
                f'feature_roles={{"{name}": "categorical"}} includes it as a category')
    if role == "ignore":
        return f"ignored{because} by its role (feature_roles)"
    if role == "label":
        return "the label"
    return None


def _integral_or_time(arrow_type: Any) -> bool:
    import pyarrow as pa

    return (pa.types.is_integer(arrow_type) or pa.types.is_timestamp(arrow_type)
            or pa.types.is_date(arrow_type))


def _datetime(spec: FeatureSpec, col: ColumnStats) -> str | None:
    if col.num_non_missing == 0 or not math.isfinite(col.mean):
        return "no timestamps in the training split"
    spec.fill = float(min(max(round(col.mean), calendar.MIN_SECONDS), calendar.MAX_SECONDS))
    spec.missing_indicator = col.has_missing
    return None


def _numeric(spec: FeatureSpec, col: ColumnStats, buckets: Any) -> str | None:
    if col.num_non_missing == 0 or not math.isfinite(col.mean):
        return "no values in the training split (nothing to normalize with)"
    std = col.std_dev if math.isfinite(col.std_dev) else 0.0
    spec.mean = col.mean
    spec.variance = std * std if std > 0 else 1.0
    spec.fill = col.mean
    spec.missing_indicator = col.has_missing
    if buckets is not None:
        if isinstance(buckets, (list, tuple)):
            bounds = sorted(float(b) for b in buckets)
            if not bounds:
                raise ConfigError(f"bucketize gives '{spec.name}' no boundaries",
                                  hint="give a number of buckets (e.g. 4) or a list of "
                                  "boundaries", parameter="bucketize")
            spec.boundaries = bounds
        elif isinstance(buckets, int) and not isinstance(buckets, bool):
            spec.boundaries = quantile_boundaries(col, buckets)
        else:
            raise ConfigError(f"bucketize['{spec.name}'] is {buckets!r}",
                              hint="give a number of buckets (e.g. 4) or a list of boundaries",
                              parameter="bucketize")
    return None


def _categorical(spec: FeatureSpec, col: ColumnStats, domain: list[str] | None,
                 max_vocabulary: int, oov_buckets: int) -> str | None:
    if col.num_non_missing == 0:
        return "no values in the training split"
    if domain is None:
        share = col.unique / max(col.num_non_missing, 1)
        if col.unique > ID_UNIQUE_MAX or (col.num_non_missing >= 20
                                          and share > ID_UNIQUE_FRACTION):
            return (f"ID-like: {col.unique:,} distinct values in {col.num_non_missing:,} rows "
                    "and no string domain in the schema")
        vocab = [v for v in col.vocabulary if v != ""]
    else:
        vocab = [v for v in domain if v != ""]
    if not vocab:
        return "no vocabulary in the schema or statistics"
    vocab = list(dict.fromkeys(vocab))[:max_vocabulary]
    if col.has_missing:
        vocab.append("")  # missing values get their own index, not the OOV bucket
    spec.vocabulary = vocab
    spec.oov_buckets = oov_buckets
    return None
