"""Bundled datasets: nothing is downloaded.

* ``fraud`` — a seeded generator of card transactions (any size) with a learnable fraud label of a
  few percent, and switches that inject the faults a data-validation stage must catch.
* ``breast_cancer`` (binary), ``wine`` (multiclass), ``diabetes`` (regression), ``digits``
  (8×8 images, multiclass) — scikit-learn's bundled real datasets, exposed the same way.

Every dataset loads as a :class:`pyarrow.Table` and can be written as CSV or Parquet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from workbench.errors import ConfigError
from workbench.registry import Registry

__all__ = [
    "FRAUD_FAULTS",
    "DatasetInfo",
    "dataset_info",
    "datasets",
    "generate_fraud",
    "load_dataset",
    "register_dataset",
    "write_table",
]


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    task: str  # binary | multiclass | regression
    label: str
    key: str | None
    description: str
    loader: Callable[..., pa.Table]
    generated: bool = False  # accepts rows/seed/faults


_DATASETS: Registry[DatasetInfo] = Registry("dataset")


def register_dataset(info: DatasetInfo) -> DatasetInfo:
    return _DATASETS.register(info.name, info)


def dataset_info(name: str) -> DatasetInfo:
    return _DATASETS.get(name)


def datasets() -> list[DatasetInfo]:
    return [_DATASETS.get(n) for n in _DATASETS.names()]


def load_dataset(name: str, *, rows: int | None = None, seed: int = 0,
                 faults: Iterable[str] = (), fault_fraction: float = 0.05) -> pa.Table:
    info = dataset_info(name)
    faults = list(faults)
    if info.generated:
        return info.loader(rows=rows, seed=seed, faults=faults, fault_fraction=fault_fraction)
    if faults:
        raise ConfigError(f"dataset '{name}' is fixed data; faults can only be injected into "
                          "generated datasets",
                          hint="use dataset='fraud' with faults, or clear the faults parameter")
    table = info.loader()
    if rows is not None and 0 < rows < table.num_rows:
        idx = np.sort(np.random.default_rng(seed).choice(table.num_rows, rows, replace=False))
        table = table.take(pa.array(idx))
    return table


def write_table(table: pa.Table, path: str | Path) -> Path:
    """Write a table as CSV or Parquet, chosen by the file suffix."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        pq.write_table(table, path, compression="zstd")
    elif path.suffix == ".csv":
        pacsv.write_csv(table, path)
    else:
        raise ConfigError(f"cannot write '{path.name}': unknown format '{path.suffix}'",
                          hint="use a .csv or .parquet file name")
    return path


# -- the fraud generator ----------------------------------------------------------------------

FRAUD_FAULTS = {
    "negative_ages": "a share of rows get a negative customer_age",
    "unseen_categories": "a share of rows get merchant categories and a country never seen before",
    "missing_values": "a share of amount and device values are missing",
    "amount_shift": "every amount is three times larger (a distribution shift)",
}

_CATEGORIES = {
    # name: (share, median amount, fraud risk weight)
    "grocery": (0.22, 35.0, -0.8),
    "restaurants": (0.14, 28.0, -0.5),
    "fuel": (0.10, 55.0, -0.2),
    "online_retail": (0.16, 60.0, 0.6),
    "electronics": (0.07, 180.0, 1.0),
    "travel": (0.06, 320.0, 0.7),
    "entertainment": (0.08, 40.0, 0.0),
    "health": (0.07, 45.0, -0.6),
    "jewelry": (0.03, 250.0, 1.3),
    "gambling": (0.02, 90.0, 1.5),
    "utilities": (0.05, 80.0, -1.0),
}
_COUNTRIES = {"DE": 0.45, "FR": 0.12, "NL": 0.08, "AT": 0.07, "PL": 0.06, "IT": 0.06,
              "ES": 0.05, "GB": 0.04, "US": 0.03, "NG": 0.02, "BR": 0.02}
_RISKY_COUNTRIES = {"NG": 1.4, "BR": 0.9, "US": 0.4}
_CHANNELS = {"pos": 0.45, "online": 0.30, "contactless": 0.20, "atm": 0.05}
_DEVICES_BY_CHANNEL = {
    "pos": (["terminal"], [1.0]),
    "contactless": (["terminal", "mobile"], [0.6, 0.4]),
    "atm": (["terminal"], [1.0]),
    "online": (["mobile", "desktop", "tablet"], [0.55, 0.35, 0.10]),
}


def _pick(rng: np.random.Generator, table: dict[str, float], n: int) -> np.ndarray:
    """Indices into ``list(table)`` drawn with the table's weights."""
    p = np.array(list(table.values()), dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def generate_fraud(rows: int | None = None, seed: int = 0, faults: Iterable[str] = (),
                   fault_fraction: float = 0.05) -> pa.Table:
    """Card transactions with an ``is_fraud`` label (about 3 % positive), fully vectorized.

    The label follows a logistic model of the columns (large amounts for the category, night
    hours, risky countries and categories, online channel, new accounts, many recent
    transactions, distance from home), so a model can learn it; the noise keeps it imperfect.
    """
    n = 20_000 if rows is None else int(rows)
    if n < 1:
        raise ConfigError(f"rows must be at least 1, got {n}")
    faults = list(faults)
    unknown = [f for f in faults if f not in FRAUD_FAULTS]
    if unknown:
        raise ConfigError(f"unknown fault(s) {', '.join(unknown)} for the fraud generator",
                          hint=f"faults: {', '.join(FRAUD_FAULTS)}")
    if not 0 < fault_fraction <= 1:
        raise ConfigError(f"fault_fraction must be in (0, 1], got {fault_fraction}")
    rng = np.random.default_rng(seed)

    cat_names = list(_CATEGORIES)
    shares = np.array([_CATEGORIES[c][0] for c in cat_names])
    cat_idx = rng.choice(len(cat_names), size=n, p=shares / shares.sum())
    category = np.array(cat_names)[cat_idx]
    medians = np.array([_CATEGORIES[c][1] for c in cat_names])[cat_idx]
    cat_risk = np.array([_CATEGORIES[c][2] for c in cat_names])[cat_idx]
    amount = np.round(medians * rng.lognormal(0.0, 0.8, n), 2)

    country_idx = _pick(rng, _COUNTRIES, n)
    country = np.array(list(_COUNTRIES))[country_idx]
    country_risk = np.array([_RISKY_COUNTRIES.get(c, 0.0) for c in _COUNTRIES])[country_idx]
    channel = np.array(list(_CHANNELS))[_pick(rng, _CHANNELS, n)]
    device = np.empty(n, dtype=object)
    for ch, (names, p) in _DEVICES_BY_CHANNEL.items():
        mask = channel == ch
        device[mask] = np.array(names)[rng.choice(len(names), size=int(mask.sum()), p=p)]
    device = device.astype(str)

    hour_weights = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4, 5, 5.5, 6, 7, 6.5, 6,
                             6, 6.5, 7, 7.5, 7, 6, 4.5, 3, 1.8])
    hour = rng.choice(24, size=n, p=hour_weights / hour_weights.sum()).astype(np.int64)
    age = np.clip(np.round(rng.normal(44, 15, n)), 18, 95).astype(np.int64)
    tenure = np.minimum(np.round(rng.exponential(900, n)), (age - 17) * 365).astype(np.int64)
    distance = np.round(rng.lognormal(1.6, 1.1, n), 1)
    foreign = country != "DE"
    distance = np.where(foreign, distance + rng.uniform(300, 2000, n), distance).round(1)
    tx_24h = rng.poisson(2.2, n).astype(np.int64)
    card_present = np.isin(channel, ["pos", "contactless", "atm"]).astype(np.int64)

    night = ((hour <= 4) | (hour >= 23)).astype(float)
    logit = (
        -5.4
        + 1.3 * np.log(amount / medians).clip(-2, 3)
        + 1.2 * night
        + country_risk
        + 0.7 * cat_risk
        + 0.9 * (channel == "online")
        + 1.1 * (tenure < 60)
        + 0.35 * np.maximum(tx_24h - 3, 0)
        + 0.4 * np.log1p(distance / 100)
        - 0.5 * card_present
        + 0.4 * (age > 75)
        + rng.normal(0, 0.5, n)
    )
    is_fraud = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    # Fraudsters take over young accounts and act fast: a little signal in both directions.
    tx_24h = np.where(is_fraud == 1, tx_24h + rng.poisson(1.5, n), tx_24h)

    age_f = age.astype(float)
    amount_f = amount.astype(float)
    device_o = device.astype(object)
    if "negative_ages" in faults:
        hit = rng.random(n) < fault_fraction
        age_f = np.where(hit, -np.abs(age_f) + rng.integers(-5, 0, n), age_f)
    if "unseen_categories" in faults:
        hit = rng.random(n) < fault_fraction
        category = np.where(hit, rng.choice(["crypto_exchange", "money_transfer"], n), category)
        hit = rng.random(n) < fault_fraction
        country = np.where(hit, "XX", country)
    if "missing_values" in faults:
        amount_f = np.where(rng.random(n) < fault_fraction, np.nan, amount_f)
        device_o[rng.random(n) < fault_fraction] = None
    if "amount_shift" in faults:
        amount_f = np.round(amount_f * 3.0, 2)

    ids = [f"tx{i:09d}" for i in range(n)]
    return pa.table({
        "transaction_id": pa.array(ids),
        "amount": pa.array(amount_f, from_pandas=True),
        "merchant_category": pa.array(category),
        "country": pa.array(country),
        "channel": pa.array(channel),
        "device": pa.array(device_o, type=pa.string(), from_pandas=True),
        "card_present": pa.array(card_present),
        "hour": pa.array(hour),
        "customer_age": pa.array(age_f.astype(np.int64) if not np.isnan(age_f).any()
                                 else age_f),
        "account_tenure_days": pa.array(tenure),
        "distance_from_home_km": pa.array(distance),
        "transactions_last_24h": pa.array(tx_24h),
        "is_fraud": pa.array(is_fraud),
    })


# -- scikit-learn's bundled datasets ----------------------------------------------------------

def _sklearn_table(loader_name: str, target_name: str = "target") -> pa.Table:
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader_name)(as_frame=False)
    names = [str(c).replace(" ", "_") for c in bunch.feature_names]
    columns = {name: pa.array(bunch.data[:, i]) for i, name in enumerate(names)}
    columns[target_name] = pa.array(bunch.target)
    return pa.table(columns)


def _breast_cancer() -> pa.Table:
    """As in the TFDV reference fixtures: names with ``_``, plus ``size_cat`` from mean_area."""
    table = _sklearn_table("load_breast_cancer")
    area = table.column("mean_area").to_numpy()
    size = np.where(area <= 500, "small", np.where(area <= 900, "medium", "large"))
    return table.append_column("size_cat", pa.array(size))


def _digits() -> pa.Table:
    import sklearn.datasets

    bunch = sklearn.datasets.load_digits()
    columns = {f"pixel_{i}": pa.array(bunch.data[:, i].astype(np.float32)) for i in range(64)}
    columns["target"] = pa.array(bunch.target)
    return pa.table(columns)


register_dataset(DatasetInfo(
    "fraud", "binary", "is_fraud", "transaction_id",
    "synthetic card transactions with a ~3% fraud label; any size; fault switches",
    generate_fraud, generated=True))
register_dataset(DatasetInfo(
    "breast_cancer", "binary", "target", None,
    "Wisconsin breast cancer (569 rows, 30 numeric features + size_cat); 1 = benign",
    _breast_cancer))
register_dataset(DatasetInfo(
    "wine", "multiclass", "target", None,
    "wine cultivars (178 rows, 13 numeric features, 3 classes)",
    lambda: _sklearn_table("load_wine")))
register_dataset(DatasetInfo(
    "diabetes", "regression", "target", None,
    "diabetes progression (442 rows, 10 numeric features, continuous target)",
    lambda: _sklearn_table("load_diabetes")))
register_dataset(DatasetInfo(
    "digits", "multiclass", "target", None,
    "handwritten digits (1797 rows of 8x8 pixels as pixel_0..pixel_63, 10 classes)",
    _digits))
