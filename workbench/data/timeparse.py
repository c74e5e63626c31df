"""Date and time columns: which format a column's text is in, and parsing it into timestamps.

Recognized (each with or without a time ``hh:mm`` or ``hh:mm:ss``):

* ISO 8601: ``2024-01-05``, ``2024-01-05T10:30:00``, ``2024-01-05 10:30:00.250``, with a zone
  (``Z``, ``+01:00``) or without; zoned values become UTC;
* day, month and year separated by ``.``, ``/`` or ``-``: ``05.01.2024 10:30``, ``01/05/2024``,
  ``5-1-2024``. Which number is the day is decided by a value above 12 in either place; when no
  value tells, the default is :data:`AMBIGUOUS_DEFAULT` (month first for ``/``, as US exports and
  pandas read it; day first for ``.`` and ``-``), reported as ambiguous and overridable with the
  ``date_format`` parameter;
* ``yyyy/mm/dd``;
* epoch seconds or milliseconds, in an integer column named like a time (``created_at``,
  ``timestamp``, ``event_time`` …) whose values lie between 1973 and 2100.

Every timestamp column has the type :data:`TIMESTAMP` (seconds; naive local time as written,
or UTC when the text carried a zone). Two formats in one column are an error naming both, with
an example of each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "AMBIGUOUS_DEFAULT",
    "ISO",
    "TIMESTAMP",
    "DateGuess",
    "MixedFormats",
    "epoch_unit",
    "guess_date_format",
    "looks_like_time_name",
    "parse_timestamps",
    "strptime_format",
]

TIMESTAMP = pa.timestamp("s")
ISO = "ISO8601"
AMBIGUOUS_DEFAULT = {"/": "mdy", ".": "dmy", "-": "dmy"}

_TIME = r"(?: \d{1,2}:\d{2}(?::\d{2})?)?"
_ISO = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
_ISO_ZONED = r"(?:Z|[+-]\d{2}:?\d{2})$"
_YMD = r"^\d{4}/\d{1,2}/\d{1,2}" + _TIME + "$"
_NUMERIC_DATE = r"^(\d{1,2})([./-])(\d{1,2})[./-]\d{4}" + _TIME + "$"
_TIME_NAME = re.compile(r"(^|_)(time|timestamp|ts|epoch|date|datetime|created|updated|"
                        r"modified|booked|posted)(_|$)|_(at|on)$")
_EPOCH_RANGE = {"s": (1e8, 4.1e9), "ms": (1e11, 4.1e12)}


@dataclass(frozen=True)
class DateGuess:
    """How a column's dates are written."""

    label: str  # for people: "dd.mm.yyyy hh:mm"
    formats: tuple[str, ...]  # strptime formats tried in turn, or (ISO,)
    evidence: str
    ambiguous: bool = False
    zoned: bool = False

    @property
    def arrow_type(self) -> pa.DataType:
        return pa.timestamp("s", tz="UTC") if self.zoned else TIMESTAMP

    def flipped(self, evidence: str) -> DateGuess:
        """The same format with day and month swapped (for an ambiguous guess proved wrong)."""
        date, sep, time = self.label.partition(" ")
        return DateGuess(_swap(date, "dd", "mm") + sep + time,
                         tuple(_swap(f, "%d", "%m") for f in self.formats), evidence)


def _swap(text: str, a: str, b: str) -> str:
    return text.replace(a, "\0").replace(b, a).replace("\0", b)


class MixedFormats(ValueError):
    """A column holds dates in two formats; ``examples`` maps each format to a value."""

    def __init__(self, examples: dict[str, str]) -> None:
        super().__init__(" and ".join(f"{k} (e.g. '{v}')" for k, v in examples.items()))
        self.examples = examples


def looks_like_time_name(name: str) -> bool:
    return bool(_TIME_NAME.search(name))


def _first(values: pa.Array, mask: pa.Array) -> str:
    return values.filter(mask)[0].as_py()


def _with_time(values: pa.Array, date: str, label: str) -> tuple[tuple[str, ...], str]:
    """The strptime formats for a date part, with the time variants the values use."""
    seconds = bool(pc.any(pc.match_substring_regex(values, r"\d:\d{2}:\d{2}$")).as_py())
    minutes = bool(pc.any(pc.match_substring_regex(values, r"\d:\d{2}$")).as_py())
    formats = []
    if seconds:
        formats.append(f"{date} %H:%M:%S")
    if minutes:
        formats.append(f"{date} %H:%M")
    formats.append(date)
    shown = label + (" hh:mm:ss" if seconds else " hh:mm" if minutes else "")
    return tuple(formats), shown


def guess_date_format(values: pa.Array) -> DateGuess | None:
    """The date format of a sample of non-null, trimmed strings, or None if they are not dates
    (raises :class:`MixedFormats` when they are dates in two formats)."""
    n = len(values)
    if n == 0:
        return None
    families = {
        "yyyy-mm-dd": pc.match_substring_regex(values, _ISO),
        "yyyy/mm/dd": pc.match_substring_regex(values, _YMD),
        "d?m?y": pc.match_substring_regex(values, _NUMERIC_DATE),
    }
    counts = {k: int(pc.sum(v).as_py() or 0) for k, v in families.items()}
    matched = sum(counts.values())
    if matched < n:
        return None
    seen = [k for k, c in counts.items() if c]
    if len(seen) > 1:
        raise MixedFormats({k: _first(values, families[k]) for k in seen})
    family = seen[0]
    if family == "yyyy-mm-dd":
        zoned = pc.match_substring_regex(values, _ISO_ZONED)
        n_zoned = int(pc.sum(zoned).as_py() or 0)
        if 0 < n_zoned < n:
            raise MixedFormats({"with a time zone": _first(values, zoned),
                                "without": _first(values, pc.invert(zoned))})
        return DateGuess("ISO 8601" + (" with time zone" if n_zoned else ""), (ISO,),
                         f"all {n:,} sampled values are ISO 8601", zoned=bool(n_zoned))
    if family == "yyyy/mm/dd":
        formats, label = _with_time(values, "%Y/%m/%d", "yyyy/mm/dd")
        return DateGuess(label, formats, f"all {n:,} sampled values are {label}")
    return _day_or_month_first(values)


def _day_or_month_first(values: pa.Array) -> DateGuess:
    parts = pc.extract_regex(values, r"^(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})")
    first = pc.cast(parts.field("a"), pa.int32())
    second = pc.cast(parts.field("b"), pa.int32())
    seps = set(pc.unique(parts.field("sep")).to_pylist())
    if len(seps) > 1:
        examples = {f"with '{s}'": _first(values, pc.equal(parts.field("sep"), s))
                    for s in sorted(seps)}
        raise MixedFormats(examples)
    sep = seps.pop()
    day_first = pc.greater(first, 12)
    month_first = pc.greater(second, 12)
    any_day_first = bool(pc.any(day_first).as_py())
    any_month_first = bool(pc.any(month_first).as_py())
    if any_day_first and any_month_first:
        raise MixedFormats({f"dd{sep}mm{sep}yyyy": _first(values, day_first),
                            f"mm{sep}dd{sep}yyyy": _first(values, month_first)})
    ambiguous = not (any_day_first or any_month_first)
    order = ("dmy" if any_day_first else "mdy" if any_month_first
             else AMBIGUOUS_DEFAULT[sep])
    date = sep.join(("%d", "%m") if order == "dmy" else ("%m", "%d")) + f"{sep}%Y"
    label = sep.join(("dd", "mm") if order == "dmy" else ("mm", "dd")) + f"{sep}yyyy"
    formats, shown = _with_time(values, date, label)
    if any_day_first:
        evidence = f"'{_first(values, day_first)}' has a day above 12 first"
    elif any_month_first:
        evidence = f"'{_first(values, month_first)}' has a day above 12 second"
    else:
        evidence = (f"no sampled value has a number above 12 in either place, so day and "
                    f"month cannot be told apart; {shown} is the default for '{sep}'")
    return DateGuess(shown, formats, evidence, ambiguous=ambiguous)


def strptime_format(text: str) -> tuple[str, ...]:
    """The strptime formats of a ``date_format`` parameter: strptime itself (``%d.%m.%Y``),
    a pattern (``dd.mm.yyyy hh:mm``), or ``ISO8601``."""
    text = text.strip()
    if text.upper() in ("ISO", "ISO8601", "ISO 8601"):
        return (ISO,)
    if "%" in text:
        return (text,)
    date, _, time = text.replace("T", " ").partition(" ")
    for token, code in (("yyyy", "%Y"), ("yy", "%y"), ("dd", "%d"), ("mm", "%m"),
                        ("MM", "%m"), ("DD", "%d"), ("YYYY", "%Y")):
        date = date.replace(token, code)
    for token, code in (("hh", "%H"), ("HH", "%H"), ("mm", "%M"), ("MM", "%M"),
                        ("ss", "%S"), ("SS", "%S")):
        time = time.replace(token, code)
    return (f"{date} {time}",) if time else (date,)


def parse_timestamps(values: pa.Array | pa.ChunkedArray, guess: DateGuess
                     ) -> tuple[pa.Array | pa.ChunkedArray, pa.Array]:
    """Timestamps of ``guess.arrow_type`` for trimmed strings, and a mask of the non-null
    values that did not parse (they are null in the result)."""
    if guess.formats == (ISO,):
        wide = pa.timestamp("us", tz="UTC") if guess.zoned else pa.timestamp("us")
        ok = pc.match_substring_regex(values, _ISO)
        parsed = pc.cast(pc.if_else(ok, values, pa.scalar(None, pa.string())), wide)
        parsed = parsed.cast(guess.arrow_type, safe=False)  # sub-second digits are dropped
    else:
        parsed = None
        for fmt in guess.formats:
            one = pc.strptime(values, format=fmt, unit="s", error_is_null=True)
            parsed = one if parsed is None else pc.coalesce(parsed, one)
    failed = pc.and_(pc.is_valid(values), pc.is_null(parsed))
    return parsed, failed


def epoch_unit(values: pa.Array | pa.ChunkedArray) -> str | None:
    """``s`` or ``ms`` when every value of an integer column is a plausible epoch time."""
    bounds = pc.min_max(values)
    lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
    if lo is None:
        return None
    for unit, (low, high) in _EPOCH_RANGE.items():
        if low <= lo and hi <= high:
            return unit
    return None
