"""CSV with a detected dialect, read by pyarrow.

The dialect (:mod:`workbench.data.dialect`) and the column guesses
(:mod:`workbench.data.coltypes`) become pyarrow's own options — ``ParseOptions`` (delimiter,
quote, quoted newlines), ``ReadOptions`` (encoding, the safe column names), ``ConvertOptions``
(decimal comma, missing-value tokens, true/false tokens, ``timestamp_parsers`` for the date
formats) — so the whole file is parsed and converted by pyarrow's multi-threaded C++ reader.
``pyarrow.csv.read_csv`` reads a whole file (about twice the speed of the streaming reader on
two cores, and its type inference sees every row); :meth:`CsvPlan.batches` streams a file in
blocks of bounded size with ``pyarrow.csv.open_csv``. Only numbers with a thousands separator
are left as text for :mod:`workbench.data.coltypes` to convert, since pyarrow has no option for
them.

pyarrow's errors are turned into the workbench's: the line of a ragged row, the column, value
and line of a value that does not convert (with a date column, whether it is a second format),
and the byte offset of text that is not in the file's encoding. Lines are found by scanning the
file again with Python's ``csv`` reader, only when there is an error to report.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from workbench.data.dialect import Dialect, first_invalid_utf8
from workbench.data.sources import open_bytes
from workbench.data.timeparse import ISO, MixedFormats, guess_date_format, parse_timestamps
from workbench.data.values import ValueGuess
from workbench.errors import DataError

__all__ = ["CsvPlan", "csv_find_value", "csv_lines", "read_head"]

HEAD_BYTES = 1 << 19  # the sample every guess is made on
BLOCK_BYTES = 16 << 20


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    with open_bytes(path) as stream:
        return stream.read(size)


@dataclass
class CsvPlan:
    """How to read the CSV parts of one source: options decided once, used for every part."""

    dialect: Dialect
    names: list[str]  # safe names, in file order
    guesses: dict[str, ValueGuess]
    as_text: set[str] = field(default_factory=set)  # read as strings (converted later)

    def _options(self, block: int | None = None) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions,
                                                          pacsv.ConvertOptions]:
        d = self.dialect
        read = pacsv.ReadOptions(column_names=self.names, skip_rows=1,
                                 encoding="utf8" if d.encoding == "utf-8" else d.encoding,
                                 **({"block_size": block} if block else {}))
        parse = pacsv.ParseOptions(delimiter=d.delimiter, quote_char=d.quote_char,
                                   double_quote=True, newlines_in_values=d.newlines_in_values)
        types: dict[str, pa.DataType] = {n: pa.string() for n in self.as_text}
        parsers: list[str] = []
        for name, guess in self.guesses.items():
            if name in self.as_text or guess.date is None:
                continue
            date = guess.date
            if date.formats == (ISO,):
                types[name] = pa.timestamp("us", tz="UTC") if date.zoned else pa.timestamp("us")
                parsers.append(pacsv.ISO8601)
            else:
                types[name] = date.arrow_type
                parsers += [f for f in date.formats if f not in parsers]
        bools = {"true_values": list(d.true_values), "false_values": list(d.false_values)} \
            if d.true_values else {}
        convert = pacsv.ConvertOptions(
            column_types=types, null_values=list(d.null_values), strings_can_be_null=True,
            decimal_point=d.decimal, timestamp_parsers=parsers or None, **bools)
        return read, parse, convert

    def read(self, path: Path, source: str) -> pa.Table:
        """A whole part file."""
        for attempt in range(2):
            try:
                with open_bytes(path) as stream:
                    return pacsv.read_csv(stream, *self._options())
            except pa.ArrowInvalid as err:
                if attempt == 0 and self._flip_ambiguous_date(err):
                    continue
                raise self.error(path, source, err) from err
        raise AssertionError("unreachable")

    def batches(self, path: Path, source: str) -> Iterator[pa.RecordBatch]:
        """A part file in blocks of about :data:`BLOCK_BYTES` (types from the first block)."""
        try:
            with open_bytes(path) as stream:
                yield from pacsv.open_csv(stream, *self._options(BLOCK_BYTES))
        except pa.ArrowInvalid as err:
            raise self.error(path, source, err) from err

    def _flip_ambiguous_date(self, err: Exception) -> bool:
        """An ambiguous day/month column failed on a value that fits the other order: read the
        column that way."""
        found = re.search(r"column #(\d+): CSV conversion error to timestamp[^:]*: invalid "
                          r"value '(.*)'", str(err), re.S)
        if not found:
            return False
        name = self.names[int(found.group(1))]
        guess = self.guesses[name]
        date = guess.date
        if date is None or not date.ambiguous:
            return False
        flipped = date.flipped(f"{date.label} did not fit '{found.group(2)}' later in the file")
        _, failed = parse_timestamps(pa.array([found.group(2).strip()]), flipped)
        if failed[0].as_py():
            return False
        self.guesses[name] = ValueGuess(guess.kind, flipped.evidence, date=flipped)
        return True

    # -- errors --------------------------------------------------------------------------------

    def error(self, path: Path, source: str, err: Exception) -> DataError:
        text = str(err)
        ragged = re.search(r"Expected (\d+) columns, got (\d+)", text)
        if ragged:
            line, fields = _ragged_line(path, self.dialect, len(self.names))
            where = f"line {line}" if line else "a line"
            return DataError(
                f"{source}: {where} has {fields or ragged.group(2)} fields but the header has "
                f"{ragged.group(1)} columns (delimiter {self.dialect.delimiter!r})",
                hint="every line needs one field per column: quote fields that contain the "
                "delimiter, or set the delimiter / quote_char parameter if the detected ones "
                "are wrong", file=source, row=line, parameter="delimiter")
        conversion = re.search(r"column #(\d+): CSV conversion error to ([^:]+): invalid "
                               r"value '(.*)'", text, re.S)
        if conversion:
            name = self.names[int(conversion.group(1))]
            return self._conversion_error(path, source, name, conversion.group(2),
                                          conversion.group(3))
        if "invalid UTF8" in text or "UTF-8" in text:
            with open_bytes(path) as stream:
                found = first_invalid_utf8(stream, source)
            if found is not None:
                return found
        return DataError(f"cannot parse CSV file {source}: {text}",
                         hint="check the delimiter, quote_char and encoding parameters",
                         file=source)

    def _conversion_error(self, path: Path, source: str, name: str, type_name: str,
                          value: str) -> DataError:
        index = self.names.index(name)
        line = csv_find_value(path, self.dialect, index, value)
        at = f"line {line}" if line else "a later line"
        guess = self.guesses.get(name)
        if guess is not None and guess.date is not None:
            try:
                other = guess_date_format(pa.array([value.strip()]))
            except MixedFormats:
                other = None
            what = f"a date in another format ({other.label})" if other else "not a date"
            return DataError(
                f"column '{name}' of {source} has dates in two formats: {guess.date.label} "
                f"({guess.date.evidence}) and '{value}' on {at}, which is {what}",
                hint="write every date of the column in one format; set date_format to the "
                "format to read, add the odd token to null_values, or set feature_roles "
                f"{{'{name}': 'text'}} to keep the column as text", file=source, column=name,
                row=line, parameter="date_format")
        return DataError(
            f"column '{name}' of {source} holds {type_name} values but '{value}' on {at} is "
            "not one", hint="fix the value, add it to null_values if it means missing, or set "
            f"feature_roles {{'{name}': 'categorical'}}", file=source, column=name, row=line,
            parameter="null_values")


def _reader(path: Path, dialect: Dialect) -> tuple[io.TextIOWrapper, csv.Reader]:
    text = io.TextIOWrapper(open_bytes(path), encoding=dialect.encoding, errors="replace",
                            newline="")
    reader = csv.reader(text, delimiter=dialect.delimiter, quotechar=dialect.quote_char,
                        doublequote=True, strict=False)
    return text, reader


def _ragged_line(path: Path, dialect: Dialect, width: int) -> tuple[int | None, int | None]:
    text, reader = _reader(path, dialect)
    with text:
        next(reader, None)
        for row in reader:
            if row and len(row) != width:
                return reader.line_num, len(row)
    return None, None


def csv_find_value(path: Path, dialect: Dialect, index: int, value: str) -> int | None:
    """The line of the first row whose field ``index`` is ``value``."""
    text, reader = _reader(path, dialect)
    with text:
        next(reader, None)
        for row in reader:
            if len(row) > index and row[index] == value:
                return reader.line_num
    return None


def csv_lines(path: Path, dialect: Dialect, rows: list[int]) -> dict[int, int]:
    """The line each data row (0-based, blank lines skipped as pyarrow skips them) starts on."""
    wanted, out = set(rows), {}
    text, reader = _reader(path, dialect)
    with text:
        next(reader, None)
        row, previous = 0, reader.line_num
        for fields in reader:
            if fields:
                if row in wanted:
                    out[row] = previous + 1
                    if len(out) == len(wanted):
                        break
                row += 1
            previous = reader.line_num
    return out
