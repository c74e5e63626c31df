"""Column types: the guesses made on a sample, and the conversions that apply them.

:func:`analyze` decides the file-level settings of the :class:`~workbench.data.dialect.Dialect`
(missing-value tokens, decimal and thousands separators, true/false tokens) and a
:class:`~workbench.data.values.ValueGuess` per column, honouring ``date_format`` and the types
that ``feature_roles`` force. :func:`convert` applies them to a table read with those settings:
text columns of formats read without a dialect (JSON Lines, Excel, Parquet) are converted here,
as are numbers with a thousands separator, epoch-second columns and forced types. Every value
that does not convert is an error naming the column and the first three such values with their
lines, never a silent null.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from workbench.data.dialect import Decision, Dialect, ReadOverrides
from workbench.data.timeparse import (
    TIMESTAMP,
    DateGuess,
    MixedFormats,
    epoch_unit,
    looks_like_time_name,
    parse_timestamps,
    strptime_format,
)
from workbench.data.values import (
    NumberFormat,
    ValueGuess,
    detect_bools,
    detect_nulls,
    detect_number_format,
    guess_kind,
    to_bools,
    to_numbers,
)
from workbench.errors import DataError, ParameterError

__all__ = ["ROLES", "TEXT_ROLES", "Conversion", "analyze", "convert"]

log = logging.getLogger(__name__)

ROLES = ("id", "ignore", "numeric", "categorical", "datetime", "text")
TEXT_ROLES = ("ignore", "categorical", "text")  # read as text, whatever they look like
SAMPLE_VALUES = 5000

Locate = Callable[[list[int]], list[str]]  # rows -> "line 12" (or "row 12 of sheet …")


@dataclass
class Conversion:
    """What :func:`analyze` decided, for :func:`convert` to apply."""

    dialect: Dialect
    guesses: dict[str, ValueGuess]
    forced: dict[str, str]
    types: dict[str, Decision] = field(default_factory=dict)  # per column, for the card

    @property
    def number_format(self) -> NumberFormat:
        return NumberFormat(self.dialect.decimal, self.dialect.thousands)


def _bools(dialect: Dialect, opts: ReadOverrides, samples: dict[str, pa.Array]) -> None:
    if opts.true_values or opts.false_values:
        if not (opts.true_values and opts.false_values):
            raise ParameterError("true_values and false_values go together",
                                 hint="give both, e.g. true_values=['yes'] and "
                                 "false_values=['no']", parameter="true_values")
        dialect.decide("true_values", opts.true_values, "given", "the true_values parameter")
        dialect.decide("false_values", opts.false_values, "given", "the false_values parameter")
        return
    true, false, evidence = detect_bools(samples)
    how = "detected" if true else "default"
    dialect.decide("true_values", true, how, evidence)
    dialect.decide("false_values", false, how, evidence)


def _date_format_for(opts: ReadOverrides, name: str, original: str) -> tuple[str, ...] | None:
    given = opts.date_format
    if isinstance(given, dict):
        text = given.get(name) or given.get(original)
        return strptime_format(text) if text else None
    return strptime_format(given) if given else None


def _given_date(values: pa.Array, formats: tuple[str, ...], text: str) -> DateGuess | None:
    guess = DateGuess(text, formats, "the date_format parameter",
                      zoned=bool(pc.any(pc.match_substring_regex(values, r"(Z|[+-]\d\d:?\d\d)$"))
                                 .as_py()) and formats == ("ISO8601",))
    _, failed = parse_timestamps(pc.utf8_trim_whitespace(values.drop_null()), guess)
    return guess if not pc.any(failed).as_py() else None


def analyze(samples: dict[str, pa.Array], originals: dict[str, str], dialect: Dialect,
            opts: ReadOverrides, forced: dict[str, str], source: str,
            locate: Locate) -> Conversion:
    """Guesses from up to :data:`SAMPLE_VALUES` strings per column (safe names as keys)."""
    samples = {n: v.slice(0, SAMPLE_VALUES) for n, v in samples.items()}
    typed = {n: v for n, v in samples.items() if forced.get(n) not in TEXT_ROLES}
    if opts.null_values:
        dialect.decide("null_values", opts.null_values, "given", "the null_values parameter")
    else:
        tokens, evidence = detect_nulls(typed)
        dialect.decide("null_values", tokens, "detected", evidence)
    fmt, evidence = detect_number_format(list(typed.values()))
    dialect.decide("decimal", opts.decimal or fmt.decimal,
                   "given" if opts.decimal else "detected",
                   "the decimal parameter" if opts.decimal else evidence)
    given_thousands = opts.thousands is not None
    dialect.decide("thousands", opts.thousands if given_thousands else fmt.thousands,
                   "given" if given_thousands else "detected",
                   "the thousands parameter" if given_thousands else evidence)
    _bools(dialect, opts, typed)
    conversion = Conversion(dialect, {}, forced)
    bools = (dialect.true_values, dialect.false_values) if dialect.true_values else None
    for name, values in samples.items():
        if forced.get(name) in TEXT_ROLES:
            conversion.guesses[name] = ValueGuess("string", "the feature_roles parameter")
            continue
        try:
            guess = guess_kind(values, conversion.number_format, dialect.null_values, bools)
        except MixedFormats as err:
            raise _two_formats(name, originals[name], err, values, source, locate) from err
        formats = _date_format_for(opts, name, originals[name])
        if formats and (guess.kind == "datetime" or forced.get(name) == "datetime"
                        or isinstance(opts.date_format, dict)):
            text = opts.date_format if isinstance(opts.date_format, str) else formats[0]
            date = _given_date(values, formats, text)
            if date is not None:
                guess = ValueGuess("datetime", "the date_format parameter", date=date)
            elif forced.get(name) == "datetime" or isinstance(opts.date_format, dict):
                guess = ValueGuess("string", "date_format does not fit: checked on reading",
                                   date=DateGuess(text, formats, "the date_format parameter"))
        conversion.guesses[name] = guess
    return conversion


def _two_formats(name: str, original: str, err: MixedFormats, values: pa.Array, source: str,
                 locate: Locate) -> DataError:
    shown = []
    for label, example in err.examples.items():
        rows = pc.indices_nonzero(pc.equal(pc.utf8_trim_whitespace(values), example))
        where = locate([rows[0].as_py()])[0] if len(rows) else "the sample"
        shown.append(f"{label} ('{example}' on {where})")
    return DataError(
        f"column '{original}' of {source} has dates in two formats: {' and '.join(shown)}",
        hint=f"write the column in one format, or set date_format {{'{original}': '…'}} to "
        f"read one of them (the other values then are errors), or feature_roles "
        f"{{'{original}': 'text'}}", file=source, column=original, parameter="date_format")


def bad_values(name: str, values: pa.ChunkedArray | pa.Array, failed: pa.ChunkedArray | pa.Array,
               source: str, locate: Locate, what: str, hint: str, parameter: str) -> DataError:
    """The error for values that do not convert: the column, how many, three with lines."""
    rows = pc.indices_nonzero(pc.fill_null(failed, False)).to_pylist()
    first = rows[:3]
    lines = locate(first)
    shown = ", ".join(f"{line}: '{values[r].as_py()}'" for r, line in
                      zip(first, lines, strict=True))
    more = f" and {len(rows) - len(first):,} more" if len(rows) > len(first) else ""
    return DataError(f"column '{name}' of {source} {what}: {len(rows):,} "
                     f"value{'s are' if len(rows) > 1 else ' is'} not ({shown}{more})",
                     hint=hint, file=source, column=name, row=first[0], parameter=parameter)


# -- applying the guesses ----------------------------------------------------------------------

def _decide(conversion: Conversion, name: str, value: str, how: str, evidence: str) -> None:
    conversion.types[name] = Decision(name, value, how, evidence)


def convert(table: pa.Table, conversion: Conversion, originals: dict[str, str], source: str,
            locate: Locate, *, from_text: bool) -> pa.Table:
    """Apply the guesses to a table with safe names. ``from_text``: its string columns are raw
    text still (not read by pyarrow's CSV reader with the dialect's options)."""
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        columns.append(_convert_one(name, column, conversion, originals.get(name, name), source,
                                    locate, from_text))
    return pa.table(columns, names=table.column_names)


def _convert_one(name: str, column: pa.ChunkedArray, c: Conversion, original: str, source: str,
                 locate: Locate, from_text: bool) -> pa.ChunkedArray:
    guess = c.guesses.get(name) or ValueGuess("string", "not sampled")
    role = c.forced.get(name)
    how = "given" if role else "detected"
    is_text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    if is_text and (from_text or role in TEXT_ROLES) and role != "ignore":
        column = _nulls(column, c.dialect.null_values)
    if role == "ignore":
        _decide(c, name, str(column.type), how, "ignored: not converted")
        return column
    if role in ("categorical", "text"):
        if not is_text:
            column = column.cast(pa.string())
        _decide(c, name, "string", how, f"feature_roles says {role}")
        return column
    if is_text and (role == "numeric" or guess.kind in ("int", "float")):
        return _numbers(column, guess, c, name, original, source, locate, role)
    if is_text and guess.kind == "bool" and from_text:
        parsed, failed = to_bools(column, c.dialect.true_values, c.dialect.false_values)
        if pc.any(failed).as_py():
            raise bad_values(original, column, failed, source, locate, "is yes/no-like",
                             "set true_values and false_values, or feature_roles "
                             f"{{'{original}': 'categorical'}}", "true_values")
        _decide(c, name, "bool", how, guess.evidence)
        return parsed
    if is_text and guess.date is not None and (from_text or role == "datetime"):
        return _dates(column, guess.date, c, name, original, source, locate, how)
    if pa.types.is_timestamp(column.type):
        target = guess.date.arrow_type if guess.date else \
            pa.timestamp("s", tz=column.type.tz) if column.type.tz else TIMESTAMP
        _decide(c, name, f"timestamp ({guess.date.label})" if guess.date else "timestamp",
                how, guess.evidence if guess.date else "typed in the file")
        return column.cast(target, safe=False)
    if pa.types.is_integer(column.type) and (role == "datetime" or role is None
                                             and looks_like_time_name(name)):
        unit = epoch_unit(column)
        if unit is not None:
            _decide(c, name, f"timestamp (epoch {'seconds' if unit == 's' else 'ms'})", how,
                    f"integers between 1973 and 2100 as epoch {unit}, in a column named like "
                    "a time" if not role else "feature_roles says datetime")
            return column.cast(pa.timestamp(unit)).cast(TIMESTAMP, safe=False)
    if role == "datetime":
        raise DataError(f"column '{original}' of {source} cannot be read as dates: its values "
                        f"are {column.type}" + (" and fit no known date format" if is_text
                                                else ", not epoch seconds"),
                        hint="set date_format to the column's format (e.g. dd/mm/yyyy hh:mm), "
                        "or remove the column from feature_roles", file=source,
                        column=original, parameter="date_format")
    if is_text and guess.mostly == "numbers":
        parsed, failed = to_numbers(column, c.number_format)
        raise bad_values(original, column, failed, source, locate, "mixes numbers and text",
                         "fix or remove the values that are not numbers, add them to "
                         f"null_values if they mean missing, or set feature_roles "
                         f"{{'{original}': 'categorical'}}", "null_values")
    _decide(c, name, str(column.type), how, guess.evidence)
    return column


def _nulls(column: pa.ChunkedArray, tokens: tuple[str, ...]) -> pa.ChunkedArray:
    if not tokens:
        return column
    is_null = pc.is_in(pc.utf8_trim_whitespace(column), pa.array(tokens, pa.string()))
    return pc.if_else(is_null, pa.scalar(None, column.type), column)


def _numbers(column: pa.ChunkedArray, guess: ValueGuess, c: Conversion, name: str,
             original: str, source: str, locate: Locate, role: str | None) -> pa.ChunkedArray:
    """Text that should be numbers: integers exactly, else floats in the file's format."""
    how, evidence = ("given", "feature_roles says numeric") if role else \
        ("detected", guess.evidence)
    if guess.kind == "int":
        try:
            parsed = pc.cast(pc.utf8_trim_whitespace(column), pa.int64())
            _decide(c, name, "int64", how, evidence)
            return parsed
        except pa.ArrowInvalid:
            pass  # a fraction or text later on: find out below
    parsed, failed = to_numbers(column, c.number_format)
    if pc.any(failed).as_py():
        raise bad_values(original, column, failed, source, locate,
                         "is numeric but holds text" if role else "mixes numbers and text",
                         "fix those values, add them to null_values if they mean missing, or "
                         f"set feature_roles {{'{original}': 'categorical'}}",
                         "feature_roles" if role else "null_values")
    _decide(c, name, "float64", how, evidence)
    return parsed


def _dates(column: pa.ChunkedArray, date: DateGuess, c: Conversion, name: str, original: str,
           source: str, locate: Locate, how: str) -> pa.ChunkedArray:
    parsed, failed = parse_timestamps(pc.utf8_trim_whitespace(column), date)
    if pc.any(failed).as_py():
        raise bad_values(original, column, failed, source, locate,
                         f"holds dates written {date.label}",
                         "write every date of the column in one format, set date_format to "
                         "the column's format, or add the odd tokens to null_values",
                         "date_format")
    _decide(c, name, f"timestamp ({date.label})", how, date.evidence)
    return parsed
