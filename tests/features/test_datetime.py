"""Date/time features: the calendar math inside the model against Python's datetime, the plan
from stage 01's roles, and int64 epoch seconds from Arrow."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from workbench.data.schema import infer_schema
from workbench.data.stats import compute_statistics
from workbench.errors import DataError
from workbench.features import calendar, column_stats, plan_features, schema_domains
from workbench.features.arrays import MISSING_INT64, raw_feature_arrays
from workbench.features.spec import FeatureSpec

UTC = dt.UTC


def _seconds(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=UTC).timestamp())


def _timestamps() -> np.ndarray:
    """Edges (leap days, month and year ends, the epoch, pre-1970, the range ends) and a
    random sample over the whole supported range."""
    edges = [0, -1, 1, 86_399, 86_400, calendar.MIN_SECONDS, calendar.MAX_SECONDS,
             calendar.EPOCH_OFFSET, calendar.EPOCH_OFFSET - 1, 2**31 - 1, 2**31]
    for year in (1932, 1960, 1968, 1969, 1970, 1999, 2000, 2001, 2023, 2024, 2038, 2067):
        for month, day in ((1, 1), (2, 28), (2, 29), (3, 1), (4, 30), (6, 30), (7, 31),
                           (12, 31)):
            try:
                start = _seconds(year, month, day)
            except ValueError:  # Feb 29 of a common year
                continue
            edges += [start, start - 1, start + 86_399, start + 43_200]
    rng = np.random.default_rng(0)
    sample = rng.integers(calendar.MIN_SECONDS, calendar.MAX_SECONDS, 4000, dtype=np.int64)
    return np.concatenate([np.array(edges, dtype=np.int64), sample])


def _python_parts(seconds: np.ndarray) -> dict[str, np.ndarray]:
    epoch = dt.datetime(1970, 1, 1, tzinfo=UTC)
    when = [epoch + dt.timedelta(seconds=int(s)) for s in seconds]
    return {"hour": np.array([w.hour for w in when]),
            "weekday": np.array([w.weekday() for w in when]),
            "day": np.array([w.day - 1 for w in when]),
            "month": np.array([w.month - 1 for w in when]),
            "weekend": np.array([float(w.weekday() >= 5) for w in when])}


def test_supported_range_is_2000_plus_minus_68_years() -> None:
    span = calendar.describe_range()
    assert span["min_utc"] == "1931-12-13T20:45:52Z"
    assert span["max_utc"] == "2068-01-19T03:14:07Z"


def test_numpy_calendar_matches_python_datetime() -> None:
    ts = _timestamps()
    got = calendar.calendar_parts(ts)
    for name, want in _python_parts(ts).items():
        np.testing.assert_array_equal(got[name], want, err_msg=name)


def test_in_model_calendar_matches_python_datetime_and_loads_without_the_workbench(
        tmp_path) -> None:
    import keras

    from workbench.features.preprocess import calendar_parts

    ts = _timestamps()
    spec = FeatureSpec("booked", "booked", "datetime", "int64",
                       fill=float(_seconds(2024, 6, 15, 13)), missing_indicator=True)
    x = keras.Input(shape=(1,), name="booked", dtype="int64")
    model = keras.Model({"booked": x}, calendar_parts(spec, x))
    path = tmp_path / "calendar.keras"
    model.save(path)
    model = keras.saving.load_model(path)  # only built-in ops: no custom objects needed
    out = {k.split("__")[1]: np.asarray(v).reshape(-1)
           for k, v in model({"booked": ts.reshape(-1, 1)}).items()}
    for name, want in _python_parts(ts).items():
        np.testing.assert_array_equal(out[name], want, err_msg=name)
    assert not out["missing"].any()
    # missing and out-of-range timestamps become the fill value, flagged
    odd = np.array([MISSING_INT64, calendar.MIN_SECONDS - 1, calendar.MAX_SECONDS + 1,
                    _seconds(2100, 1, 1)], dtype=np.int64)
    out = {k.split("__")[1]: np.asarray(v).reshape(-1)
           for k, v in model({"booked": odd.reshape(-1, 1)}).items()}
    filled = _python_parts(np.array([int(spec.fill)] * len(odd)))
    for name, want in filled.items():
        np.testing.assert_array_equal(out[name], want, err_msg=name)
    assert out["missing"].tolist() == [1.0] * 4


def _plan(table: pa.Table, **kw):
    stats = compute_statistics(table)
    return plan_features({f.name: f.type for f in table.schema}, column_stats(stats),
                         schema_domains(infer_schema(stats)), **kw)


def _table(n: int = 60) -> pa.Table:
    rng = np.random.default_rng(1)
    ts = rng.integers(_seconds(2023, 1, 1), _seconds(2024, 12, 31), n)
    booked = pa.array([None if i % 10 == 0 else int(t) for i, t in enumerate(ts)], pa.int64())
    return pa.table({
        "txn": pa.array(range(n), pa.int64()),
        "booked": booked,
        "memo": [f"paid invoice {i} for services" for i in range(n)],
        "amount": rng.normal(50, 10, n),
        "shop": rng.choice(["Müller & Söhne", "東京商店", "🛒 corner"], n).tolist(),
        "y": rng.integers(0, 2, n),
    })


def test_roles_make_datetime_features_and_drop_ids_and_text() -> None:
    roles = {"txn": {"role": "id", "reason": "unique per row", "guessed": True},
             "booked": {"role": "datetime", "reason": "dd.mm.yyyy hh:mm", "guessed": True},
             "memo": {"role": "text", "reason": "many distinct multi-word values",
                      "guessed": True},
             "amount": {"role": "numeric", "reason": "numbers", "guessed": True},
             "shop": "categorical"}
    table = _table()
    plan = _plan(table, label="y", roles=roles)
    assert [f.name for f in plan.features] == ["booked", "amount", "shop"]
    booked = plan.feature("booked")
    assert (booked.kind, booked.dtype, booked.missing_indicator) == ("datetime", "int64", True)
    assert booked.fill == round(np.nanmean(
        table.column("booked").to_numpy(zero_copy_only=False).astype(float)))
    encoded = [(e.name, e.kind, e.size) for e in booked.encoded()]
    assert encoded == [("booked__hour", "index", 24), ("booked__weekday", "index", 7),
                       ("booked__day", "index", 31), ("booked__month", "index", 12),
                       ("booked__weekend", "dense", 0), ("booked__missing", "dense", 0)]
    info = booked.info()
    assert info["format"] == "epoch seconds (UTC), int64" and info["dtype"] == "int64"
    assert info["range"]["max_utc"] == "2068-01-19T03:14:07Z"
    dropped = {d["name"]: d["reason"] for d in plan.dropped}
    assert "identifier" in dropped["txn"] and "unique per row" in dropped["txn"]
    assert "free text" in dropped["memo"]
    assert 'feature_roles={"memo": "categorical"}' in dropped["memo"]
    # without roles the timestamp is a plain number (the contract before roles)
    assert _plan(table, label="y").feature("booked").kind == "numeric"


def test_datetime_role_on_a_text_column_names_the_fix() -> None:
    table = pa.table({"when": ["2024-01-01"] * 30, "x": np.arange(30.0), "y": [0, 1] * 15})
    with pytest.raises(DataError, match="role datetime") as err:
        _plan(table, label="y", roles={"when": "datetime"})
    assert "int64 epoch seconds" in err.value.hint


def test_int64_seconds_from_arrow_integers_timestamps_and_dates() -> None:
    when = [dt.datetime(1960, 5, 1, 12, 30, 15, 900_000), None, dt.datetime(2024, 2, 29, 23)]
    table = pa.table({
        "i": pa.array([-1, None, 1_709_247_600], pa.int64()),
        "us": pa.array(when, pa.timestamp("us", "UTC")),
        "d": pa.array([dt.date(1960, 5, 1), None, dt.date(2024, 2, 29)], pa.date32()),
        "f": pa.array([1.0, float("nan"), 2.0]),
    })
    out = raw_feature_arrays(table, [(c, c, "int64") for c in ("i", "us", "d", "f")],
                             where="the test table", hint="")
    assert all(v.dtype == np.int64 for v in out.values())
    assert out["i"].tolist() == [-1, MISSING_INT64, 1_709_247_600]
    assert out["us"].tolist() == [_seconds(1960, 5, 1, 12, 30, 15), MISSING_INT64,
                                  _seconds(2024, 2, 29, 23)]
    assert out["d"].tolist() == [_seconds(1960, 5, 1), MISSING_INT64, _seconds(2024, 2, 29)]
    assert out["f"].tolist() == [1, MISSING_INT64, 2]
    with pytest.raises(DataError, match="not a date/time"):
        raw_feature_arrays(pa.table({"s": ["x"]}), [("s", "s", "int64")], where="t", hint="")
