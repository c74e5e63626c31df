"""Date/time features: the raw timestamp format, its supported range, and the calendar parts.

A date/time column reaches the model as **int64 epoch seconds (UTC)** — what stage 01 stores
in its Parquet splits — and the model computes hour of day, day of week (Monday = 0), day of
month, month and a weekend flag itself (:func:`workbench.features.preprocess.build_preprocessor`),
so training and serving cannot disagree.

The in-model arithmetic runs in int32, because LiteRT's built-in ``FLOOR_DIV`` has no int64
kernel: the timestamp minus :data:`EPOCH_OFFSET` (2000-01-01T00:00:00Z) is cast to int32, which
gives the supported range :data:`MIN_SECONDS` … :data:`MAX_SECONDS`, i.e.
1931-12-13T20:45:52Z … 2068-01-19T03:14:07Z (2000 ± 68 years). A value outside it — and
:data:`MISSING_SECONDS` (-2**63), how a missing timestamp is sent — is a missing value: imputed
with the training mean, and flagged when the training data had missing timestamps.

Month and day of month use Howard Hinnant's ``civil_from_days`` (days since 1970-01-01 →
proleptic Gregorian date; http://howardhinnant.github.io/date_algorithms.html), which needs
only integer ``+ - * floor_divide mod``. :func:`calendar_parts` is the same computation in
NumPy: the reference the tests and the TFLite preprocessing fallback use.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np

__all__ = [
    "EPOCH_OFFSET",
    "FORMAT",
    "MAX_SECONDS",
    "MIN_SECONDS",
    "MISSING_SECONDS",
    "PARTS",
    "calendar_parts",
    "describe_range",
    "is_missing",
]

#: what the serving signature and every client send for a date/time feature
FORMAT = "epoch seconds (UTC), int64"
#: 2000-01-01T00:00:00Z: the int32 arithmetic is relative to it
EPOCH_OFFSET = 946_684_800
MIN_SECONDS = EPOCH_OFFSET - 2**31  # 1931-12-13T20:45:52Z
MAX_SECONDS = EPOCH_OFFSET + 2**31 - 1  # 2068-01-19T03:14:07Z
#: a missing timestamp (any value outside MIN_SECONDS..MAX_SECONDS counts as missing too)
MISSING_SECONDS = -(2**63)
#: the index parts (name, size): encoded as ``<input>__<name>`` in ``[0, size)``
PARTS = (("hour", 24), ("weekday", 7), ("day", 31), ("month", 12))

SECONDS_PER_DAY = 86_400
#: 1970-01-01 was a Thursday (weekday 3 with Monday = 0)
EPOCH_WEEKDAY = 3
#: civil_from_days shifts day 0 to 0000-03-01
CIVIL_SHIFT = 719_468
DAYS_PER_ERA = 146_097  # 400 Gregorian years


def _utc(seconds: int) -> str:
    when = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) + _dt.timedelta(seconds=seconds)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_range() -> dict[str, object]:
    """The supported range, for ``model_info`` and the clients."""
    return {"min": MIN_SECONDS, "max": MAX_SECONDS, "min_utc": _utc(MIN_SECONDS),
            "max_utc": _utc(MAX_SECONDS)}


def is_missing(seconds: np.ndarray) -> np.ndarray:
    """Which timestamps the model treats as missing (outside the supported range)."""
    seconds = np.asarray(seconds, dtype=np.int64)
    return (seconds < MIN_SECONDS) | (seconds > MAX_SECONDS)


def calendar_parts(seconds: np.ndarray, *, fill: int = EPOCH_OFFSET) -> dict[str, np.ndarray]:
    """Hour (0-23), weekday (0 = Monday), day (0-30: day of month - 1), month (0-11: month - 1)
    and weekend (0/1) of int64 epoch seconds, with missing values replaced by ``fill`` — the
    model's computation, in NumPy."""
    seconds = np.asarray(seconds, dtype=np.int64)
    filled = np.where(is_missing(seconds), np.int64(fill), seconds)
    u = (filled - EPOCH_OFFSET).astype(np.int32)
    days = np.floor_divide(u, SECONDS_PER_DAY)
    hour = np.floor_divide(u - days * SECONDS_PER_DAY, 3600)
    days = days + EPOCH_OFFSET // SECONDS_PER_DAY
    weekday = np.mod(days + EPOCH_WEEKDAY, 7)
    doe = np.mod(days + CIVIL_SHIFT, DAYS_PER_ERA)  # day of the 400-year era, [0, 146096]
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365  # year of era, [0, 399]
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)  # day of year from March 1, [0, 365]
    mp = (5 * doy + 2) // 153  # month from March, [0, 11]
    day = doy - (153 * mp + 2) // 5  # day of month - 1, [0, 30]
    month = np.mod(mp + 2, 12)  # month - 1 (March → 2), [0, 11]
    return {"hour": hour.astype(np.int64), "weekday": weekday.astype(np.int64),
            "day": day.astype(np.int64), "month": month.astype(np.int64),
            "weekend": (weekday >= 5).astype(np.float32)}
