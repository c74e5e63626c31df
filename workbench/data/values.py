"""What the text of a column means: missing-value tokens, number formats, booleans, dates.

Everything here looks at samples of strings (Arrow arrays, so each check is one vectorized
regex) and answers with a value and the evidence for it; :mod:`workbench.data.dialect` turns
the answers into recorded decisions and :mod:`workbench.data.reading` applies them.

* Missing values: the tokens of :data:`STANDARD_NULLS` always; ``-`` and ``?`` when they stand
  alone in a column whose other values are numbers, dates or booleans.
* Numbers: the decimal separator is the one unambiguous values use (``3,5`` or ``1.234,56``
  say comma; ``3.25`` or ``1,234.5`` say point); a thousands separator (``.``, ``,``, space,
  no-break space or ``'``) is found from digit groups of three.
* Booleans: a column whose values are one of the pairs of :data:`BOOL_PAIRS` (any case).
  ``1``/``0`` columns stay integers, which is already how a model takes a flag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from workbench.data.timeparse import DateGuess, guess_date_format

__all__ = [
    "BOOL_PAIRS",
    "PLACEHOLDER_NULLS",
    "STANDARD_NULLS",
    "NumberFormat",
    "ValueGuess",
    "detect_bools",
    "detect_nulls",
    "detect_number_format",
    "guess_kind",
    "is_number",
    "to_bools",
    "to_numbers",
]

STANDARD_NULLS = ("", "NA", "N/A", "n/a", "NULL", "null", "Null", "NaN", "nan", "None",
                  "#N/A", "<NA>")
PLACEHOLDER_NULLS = ("-", "?")
BOOL_PAIRS = (("yes", "no"), ("true", "false"), ("y", "n"), ("t", "f"), ("ja", "nein"),
              ("oui", "non"), ("si", "no"))
MOSTLY = 0.9  # a column this share numbers (or dates) and the rest text "mixes" them

_INT = r"^[-+]?\d+$"
_GROUPS = {".": r"\.", ",": ",", " ": "[ \u00a0\u202f]", "'": "['\u2019]"}


@dataclass(frozen=True)
class NumberFormat:
    """Decimal and thousands separators of a file's numbers."""

    decimal: str = "."
    thousands: str = ""  # "" none, or one of . , ' and " " (any space kind)

    def pattern(self) -> str:
        dec = re.escape(self.decimal)
        whole = r"\d+"
        if self.thousands:
            whole = rf"(?:\d{{1,3}}(?:{_GROUPS[self.thousands]}\d{{3}})+|\d+)"
        return rf"^[-+]?(?:{whole}(?:{dec}\d*)?|{dec}\d+)(?:[eE][-+]?\d+)?$"


@dataclass(frozen=True)
class ValueGuess:
    """What one column's sampled text holds."""

    kind: str  # "int", "float", "bool", "datetime", "string", "empty"
    evidence: str
    date: DateGuess | None = None
    grouped: bool = False  # numbers written with a thousands separator
    mostly: str = ""  # "numbers" or "dates" when a few odd values break a typed column
    odd: tuple[str, ...] = ()


def _count(values: pa.Array, regex: str) -> int:
    return int(pc.sum(pc.match_substring_regex(values, regex)).as_py() or 0)


def _trimmed(values: pa.Array) -> pa.Array:
    return pc.utf8_trim_whitespace(values.drop_null())


def detect_nulls(samples: dict[str, pa.Array]) -> tuple[tuple[str, ...], str]:
    """The missing-value tokens to use, and where the placeholders among them were seen."""
    found = []
    for token in PLACEHOLDER_NULLS:
        where = []
        for name, values in samples.items():
            values = _trimmed(values)
            hits = pc.equal(values, token)
            n_hits = int(pc.sum(hits).as_py() or 0)
            if not n_hits:
                continue
            rest = values.filter(pc.invert(pc.is_in(values, pa.array(
                STANDARD_NULLS + PLACEHOLDER_NULLS))))
            if len(rest) and guess_kind(rest, NumberFormat(), ()).kind != "string":
                where.append(f"'{name}' ({n_hits}×)")
        if where:
            found.append((token, where))
    tokens = STANDARD_NULLS + tuple(t for t, _ in found)
    evidence = "; ".join(f"'{t}' stands for a missing value in {', '.join(w)}"
                         for t, w in found)
    return tokens, evidence or "empty fields and the usual tokens (NA, N/A, null, NaN …)"


def detect_number_format(samples: list[pa.Array]) -> tuple[NumberFormat, str]:
    """The decimal and thousands separators that the sampled values use."""
    comma = point = 0
    for values in samples:
        comma += _count(values, r"^[-+]?\d*,\d{1,2}$|^[-+]?\d*,\d{4,}$|^[-+]?\d{4,},\d+$"
                                r"|^[-+]?0,\d+$|^[-+]?\d{1,3}([.\s']\d{3})+,\d+$")
        point += _count(values, r"^[-+]?\d*\.\d{1,2}$|^[-+]?\d*\.\d{4,}$|^[-+]?\d{4,}\.\d+$"
                                r"|^[-+]?0\.\d+$|^[-+]?\d{1,3}([,\s']\d{3})+\.\d+$"
                                r"|^[-+]?\d+\.\d+[eE][-+]?\d+$")
    decimal = "," if comma > point else "."
    if comma or point:
        evidence = (f"{max(comma, point):,} sampled numbers have a decimal "
                    f"{'comma' if decimal == ',' else 'point'}"
                    + (f", {min(comma, point):,} the other" if min(comma, point) else ""))
    else:
        evidence = "no sampled number has a fraction; the decimal point is the default"
    thousands, best = "", 0
    for sep, group in _GROUPS.items():
        if sep == decimal:
            continue
        hits = sum(_count(v, rf"^[-+]?\d{{1,3}}({group}\d{{3}})+({re.escape(decimal)}\d+)?$")
                   for v in samples)
        if hits > best:
            thousands, best = sep, hits
    if thousands:
        shown = "space" if thousands == " " else f"'{thousands}'"
        evidence += f"; {best:,} are grouped in thousands with {shown}"
    return NumberFormat(decimal, thousands), evidence


def detect_bools(samples: dict[str, pa.Array]) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """The true and false tokens of the boolean columns (as written), and which columns."""
    true: set[str] = set()
    false: set[str] = set()
    columns = []
    for name, values in samples.items():
        pair = _bool_pair(_trimmed(values))
        if pair is None:
            continue
        distinct = pc.unique(_trimmed(values)).to_pylist()
        true.update(v for v in distinct if v.lower() == pair[0])
        false.update(v for v in distinct if v.lower() == pair[1])
        columns.append(f"'{name}' ({pair[0]}/{pair[1]})")
    evidence = ("booleans: " + ", ".join(columns)) if columns else "no boolean column"
    return tuple(sorted(true)), tuple(sorted(false)), evidence


def _bool_pair(values: pa.Array) -> tuple[str, str] | None:
    values = values.filter(pc.invert(pc.is_in(values, pa.array(STANDARD_NULLS))))
    if not len(values):
        return None
    distinct = {v.lower() for v in pc.unique(values).to_pylist()}
    for pair in BOOL_PAIRS:
        if distinct <= set(pair) and len(distinct) == 2:
            return pair
    return None


def is_number(values: pa.Array | pa.ChunkedArray, fmt: NumberFormat) -> pa.Array:
    return pc.match_substring_regex(values, fmt.pattern())


def guess_kind(values: pa.Array, fmt: NumberFormat, nulls: tuple[str, ...],
               bools: tuple[tuple[str, ...], tuple[str, ...]] | None = None) -> ValueGuess:
    """The kind of a column from a sample of its text (nulls and null tokens ignored).
    Raises :class:`~workbench.data.timeparse.MixedFormats` for dates in two formats."""
    values = _trimmed(values)
    if nulls:
        values = values.filter(pc.invert(pc.is_in(values, pa.array(nulls, pa.string()))))
    n = len(values)
    if n == 0:
        return ValueGuess("empty", "no value in the sample")
    if bools and bool(pc.all(pc.is_in(values, pa.array(bools[0] + bools[1]))).as_py()):
        return ValueGuess("bool", f"only {'/'.join(sorted(pc.unique(values).to_pylist()))}")
    n_int = _count(values, _INT)
    if n_int == n:
        leading = _count(values, r"^[-+]?0\d")
        if leading:
            return ValueGuess("string", f"{leading:,} sampled values have leading zeros "
                              f"(e.g. '{values.filter(pc.match_substring_regex(values, '^0'))[0]}'"
                              "), so they are codes, not numbers")
        return ValueGuess("int", f"all {n:,} sampled values are integers")
    numbers = is_number(values, fmt)
    n_num = int(pc.sum(numbers).as_py() or 0)
    if n_num == n:
        grouped = bool(fmt.thousands) and _count(values, _GROUPS[fmt.thousands]) > 0
        return ValueGuess("float", f"all {n:,} sampled values are numbers", grouped=grouped)
    date = guess_date_format(values)
    if date is not None:
        return ValueGuess("datetime", date.evidence, date=date)
    if n_num >= MOSTLY * n:
        odd = values.filter(pc.invert(numbers)).to_pylist()[:3]
        return ValueGuess("string", f"{n_num:,} of {n:,} sampled values are numbers",
                          mostly="numbers", odd=tuple(odd))
    return ValueGuess("string", "text")


def to_numbers(values: pa.Array | pa.ChunkedArray, fmt: NumberFormat
               ) -> tuple[pa.Array | pa.ChunkedArray, pa.Array | pa.ChunkedArray]:
    """float64 numbers of trimmed strings in ``fmt``, and the mask of text that is not one."""
    values = pc.utf8_trim_whitespace(values)
    ok = is_number(values, fmt)
    text = pc.if_else(ok, values, pa.scalar(None, pa.string()))
    if fmt.thousands:
        text = pc.replace_substring_regex(text, _GROUPS[fmt.thousands], "")
    if fmt.decimal != ".":
        text = pc.replace_substring(text, fmt.decimal, ".")
    return pc.cast(text, pa.float64()), pc.and_(pc.is_valid(values), pc.invert(ok))


def to_bools(values: pa.Array | pa.ChunkedArray, true: tuple[str, ...],
             false: tuple[str, ...]) -> tuple[pa.Array | pa.ChunkedArray, pa.Array]:
    """Booleans of trimmed strings, and the mask of values that are neither token."""
    values = pc.utf8_trim_whitespace(values)
    is_true = pc.is_in(values, pa.array(true, pa.string()))
    is_false = pc.is_in(values, pa.array(false, pa.string()))
    known = pc.or_(is_true, is_false)
    parsed = pc.if_else(known, is_true, pa.scalar(None, pa.bool_()))
    return parsed, pc.and_(pc.is_valid(values), pc.invert(known))

