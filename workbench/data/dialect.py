"""How a file is written: encoding, delimiter, quoting, numbers, missing values, booleans.

Every field of a :class:`Dialect` is either given (a parameter of :class:`ReadOverrides`) or
detected on a sample from the start of the file, and each is recorded as a :class:`Decision`
with its evidence, so the data card can show what was guessed and why.

Encoding: a byte-order mark decides (UTF-8, UTF-16, UTF-32); without one, text that decodes as
UTF-8 is UTF-8; otherwise it is read as Windows-1252 (cp1252, the encoding of Excel's CSV on
Western Windows) with a warning. A sample holding both UTF-8 letters and bytes that are not
UTF-8 mixes encodings: an error naming the byte offset and the line.

Delimiter and quote: the sample's first rows are parsed with Python's C ``csv`` reader for each
candidate (``,`` ``;`` tab ``|``; ``"`` or ``'``) and the candidate giving the most rows with the
same number of fields, then the most fields, wins — the "consistent table" criterion of CleverCSV,
reduced to four delimiters. ``csv.Sniffer`` is not used: it guesses from character frequencies
and on an export whose quoted merchant names contain ``;`` and whose amounts have decimal commas
it can pick ``,``; CleverCSV itself would add a dependency whose full search is far slower than
the read it prepares.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field, fields
from itertools import islice
from typing import Any

from workbench.errors import DataError, ParameterError

__all__ = [
    "DELIMITERS",
    "Decision",
    "Dialect",
    "ReadOverrides",
    "detect_encoding",
    "first_invalid_utf8",
    "sniff_csv",
]

DELIMITERS = (",", ";", "\t", "|")
SNIFF_ROWS = 200  # rows the delimiter is decided on
SAMPLE_ROWS = 5000  # rows every other guess is made on
_NAMED = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|",
          "space": " "}
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_UTF8_LEAD = re.compile(rb"[\xc2-\xf4]")
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
                             rb"|[\xf0-\xf4][\x80-\xbf]{3}")


def _help(text: str) -> Any:
    return field(default=None, metadata={"help": text})


@dataclass(frozen=True)
class ReadOverrides:
    """The parameters that override a guess; ``None`` or ``""`` means "detect".

    Their names are meant to be the stage parameters of the same name."""

    delimiter: str | None = _help("field delimiter: , ; | or tab (names: comma, semicolon, "
                                  "pipe, tab)")
    quote_char: str | None = _help('quote character: " or \'')
    encoding: str | None = _help("text encoding, e.g. utf-8, utf-16, cp1252, latin-1")
    decimal: str | None = _help("decimal separator of numbers: . or ,")
    thousands: str | None = _help("thousands separator: . , ' or space; 'none' for none")
    null_values: tuple[str, ...] | None = _help("the tokens that mean a missing value")
    true_values: tuple[str, ...] | None = _help("the tokens that mean true, e.g. ['yes']")
    false_values: tuple[str, ...] | None = _help("the tokens that mean false, e.g. ['no']")
    sheet: str | None = _help("the Excel sheet to read (name, or 1-based number)")
    date_format: str | dict[str, str] | None = _help(
        "format of date columns, e.g. dd/mm/yyyy or %d/%m/%Y (one for all, or per column)")
    feature_roles: dict[str, str] | None = _help(
        "column: role (id, ignore, numeric, categorical, datetime, text), by original or "
        "safe name")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value == "" or value == [] or value == {}:
                object.__setattr__(self, f.name, None)
            elif isinstance(value, list):
                object.__setattr__(self, f.name, tuple(str(v) for v in value))
        if self.delimiter is not None:
            d = _NAMED.get(self.delimiter.lower(), self.delimiter)
            if len(d) != 1:
                raise ParameterError(f"delimiter must be one character, got {self.delimiter!r}",
                                     hint="use delimiter=',' ';' '|' or 'tab'",
                                     parameter="delimiter")
            object.__setattr__(self, "delimiter", d)
        if self.quote_char is not None and len(self.quote_char) != 1:
            raise ParameterError(f"quote_char must be one character, got {self.quote_char!r}",
                                 hint="use quote_char='\"' or quote_char=\"'\"",
                                 parameter="quote_char")
        if self.decimal is not None and self.decimal not in ".,":
            raise ParameterError(f"decimal must be '.' or ',', got {self.decimal!r}",
                                 hint="use decimal=',' for 3,5 and decimal='.' for 3.5",
                                 parameter="decimal")
        if self.thousands is not None:
            t = {"none": "", "space": " ", "\u00a0": " ", "\u202f": " "}.get(
                self.thousands.lower(), self.thousands)
            if t not in ("", ".", ",", " ", "'"):
                raise ParameterError(f"thousands must be . , ' space or none, got "
                                     f"{self.thousands!r}", hint="e.g. thousands='.' for "
                                     "1.234,56", parameter="thousands")
            object.__setattr__(self, "thousands", t)
        if self.encoding is not None:
            try:
                object.__setattr__(self, "encoding", codecs.lookup(self.encoding).name)
            except LookupError as err:
                raise ParameterError(f"unknown encoding {self.encoding!r}",
                                     hint="use e.g. encoding='utf-8', 'utf-16', 'cp1252' or "
                                     "'latin-1'", parameter="encoding") from err

    def given(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class Decision:
    """One guess or given setting: ``how`` is "detected", "given" or "default"."""

    field: str
    value: Any
    how: str
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"field": self.field, "value": value, "how": self.how,
                "evidence": self.evidence}


@dataclass
class Dialect:
    """How a file is written, and how each of that was decided."""

    format: str = "csv"  # csv, jsonl, xlsx, parquet, tfrecord
    compression: str = ""
    encoding: str = "utf-8"
    bom: bool = False
    delimiter: str = ","
    quote_char: str = '"'
    newlines_in_values: bool = False
    decimal: str = "."
    thousands: str = ""
    null_values: tuple[str, ...] = ()
    true_values: tuple[str, ...] = ()
    false_values: tuple[str, ...] = ()
    sheet: str | None = None
    decisions: list[Decision] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def decide(self, name: str, value: Any, how: str, evidence: str) -> Any:
        """Set a field and record why."""
        if hasattr(self, name):
            setattr(self, name, value)
        self.decisions = [d for d in self.decisions if d.field != name]
        self.decisions.append(Decision(name, value, how, evidence))
        return value

    def decision(self, name: str) -> Decision | None:
        return next((d for d in self.decisions if d.field == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "compression": self.compression or None,
                "encoding": self.encoding if self.format == "csv" else None,
                "delimiter": self.delimiter if self.format == "csv" else None,
                "decimal": self.decimal, "thousands": self.thousands or None,
                "null_values": list(self.null_values), "true_values": list(self.true_values),
                "false_values": list(self.false_values), "sheet": self.sheet,
                "decisions": [d.to_dict() for d in self.decisions],
                "warnings": list(self.warnings)}


# -- encoding ----------------------------------------------------------------------------------

def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def detect_encoding(head: bytes, dialect: Dialect, given: str | None, source: str) -> str:
    """Decide ``dialect.encoding`` (a Python codec name) from the first bytes of a file."""
    bom = next((name for mark, name in _BOMS if head.startswith(mark)), None)
    dialect.bom = bom is not None
    if given:
        return dialect.decide("encoding", given, "given", "the encoding parameter")
    if bom:
        return dialect.decide("encoding", bom, "detected", f"{bom.upper()} byte-order mark")
    if len(head) >= 4 and head.count(0) >= len(head) // 3:
        le = head[1::2].count(0) > head[0::2].count(0)
        name = "utf-16-le" if le else "utf-16-be"
        return dialect.decide("encoding", name, "detected",
                              "every second byte is 0 and there is no byte-order mark")
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as err:
        return _not_utf8(head, err.start, dialect, source)
    wide = len(_UTF8_LEAD.findall(head)) if not text.isascii() else 0
    what = f"with {wide:,} non-ASCII characters" if wide else "ASCII only"
    return dialect.decide("encoding", "utf-8", "detected",
                          f"the first {len(head):,} bytes are valid UTF-8 ({what})")


def _not_utf8(head: bytes, offset: int, dialect: Dialect, source: str) -> str:
    line = _line_of(head, offset)
    byte = head[offset:offset + 1].hex()
    utf8 = _UTF8_MULTIBYTE.search(head)
    if utf8 is not None:
        raise mixed_encodings(source, head, utf8.start(), offset)
    try:
        head.decode("cp1252")
        name, label = "cp1252", "Windows-1252 (cp1252)"
    except UnicodeDecodeError:
        name, label = "latin-1", "Latin-1 (ISO 8859-1)"
    dialect.warnings.append(
        f"{source} is not UTF-8 (line {line} has the byte 0x{byte}): read as {label}; if "
        "letters look wrong in the data card, set the encoding parameter (e.g. "
        "encoding=cp1250 for Central European text)")
    return dialect.decide("encoding", name, "detected",
                          f"not UTF-8: byte 0x{byte} on line {line}; single-byte fallback")


def _utf8_example(data: bytes, at: int, base_line: int) -> tuple[int, str]:
    return base_line + data.count(b"\n", 0, at), data[at:at + 4].decode("utf-8", "ignore")[:1]


def mixed_encodings(source: str, data: bytes, utf8_at: int | tuple[int, str], bad_at: int,
                    base: int = 0, base_line: int = 1) -> DataError:
    """The error for a file holding UTF-8 text (at ``utf8_at``, or a known ``(line, letter)``)
    and bytes that are not UTF-8 (at ``bad_at``; offsets within ``data``, which starts at byte
    ``base`` and line ``base_line`` of the file)."""
    utf8_line, letter = utf8_at if isinstance(utf8_at, tuple) else \
        _utf8_example(data, utf8_at, base_line)
    bad_line = base_line + data.count(b"\n", 0, bad_at)
    return DataError(
        f"{source} mixes text encodings: line {utf8_line} holds UTF-8 text ('{letter}') but "
        f"line {bad_line} has the byte 0x{data[bad_at:bad_at + 1].hex()} at byte offset "
        f"{base + bad_at:,}, which is not UTF-8",
        hint="save the whole file again in one encoding (UTF-8); if most of it is Windows "
        "text, encoding=cp1252 reads it (its UTF-8 letters then show as two characters)",
        file=source, row=bad_line, parameter="encoding")


def first_invalid_utf8(stream: io.RawIOBase | Any, source: str,
                       chunk: int = 1 << 20) -> DataError | None:
    """Scan a binary stream for the first byte that is not UTF-8 (bounded memory); the error
    naming it and its line, or None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, line = 0, 1
    seen: tuple[int, str] | None = None  # the first UTF-8 letter: line, letter
    while True:
        data = stream.read(chunk)
        if not data:
            return None
        try:
            decoder.decode(data, final=False)
        except UnicodeDecodeError as err:
            bad = max(err.start - len(decoder.getstate()[0]), 0)
            where = _UTF8_MULTIBYTE.search(data, 0, bad)
            if seen is None and where is not None:
                seen = _utf8_example(data, where.start(), line)
            if seen is not None:
                return mixed_encodings(source, data, seen, bad, base=offset, base_line=line)
            bad_line = line + data.count(b"\n", 0, bad)
            return DataError(
                f"{source} is not UTF-8 text: line {bad_line} has the "
                f"byte 0x{data[bad:bad + 1].hex()} at byte offset {offset + bad:,}",
                hint="set the encoding parameter (e.g. encoding=cp1252), or save the file "
                "as UTF-8", file=source, parameter="encoding")
        if seen is None:
            where = _UTF8_MULTIBYTE.search(data)
            if where is not None:
                seen = _utf8_example(data, where.start(), line)
        offset += len(data)
        line += data.count(b"\n")


# -- delimiter and quote -----------------------------------------------------------------------

@dataclass
class CsvHead:
    """The header and the first complete rows of a CSV sample."""

    header: list[str]
    text: str  # the header line and the complete rows after it
    rows: int


def _rows(text: str, delimiter: str, quote: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=quote,
                        doublequote=True, strict=False)
    return [row for row in islice(reader, SNIFF_ROWS) if row]


def _consistency(rows: list[list[str]]) -> tuple[float, int]:
    if not rows:
        return 0.0, 0
    counts = Counter(len(r) for r in rows)
    mode, hits = counts.most_common(1)[0]
    return hits / len(rows), mode


def sniff_csv(text: str, dialect: Dialect, overrides: ReadOverrides, source: str) -> CsvHead:
    """Decide delimiter and quote character from decoded sample text; the header and rows."""
    text = text.lstrip("\ufeff")
    lines = text.splitlines(keepends=True)
    if len(text) > 0 and not text.endswith(("\n", "\r")) and len(lines) > 1:
        lines = lines[:-1]  # the sample ends inside a line
    lines = lines[:SAMPLE_ROWS * 4]
    text = "".join(lines[:SNIFF_ROWS * 4])
    delimiters = (overrides.delimiter,) if overrides.delimiter else DELIMITERS
    quotes = (overrides.quote_char,) if overrides.quote_char else ('"', "'")
    scored = []
    for d in delimiters:
        for q in quotes:
            if q == "'" and not overrides.quote_char and not re.search(
                    rf"(^|{re.escape(d)})'", text, re.M):
                continue
            rows = _rows(text, d, q)
            share, mode = _consistency(rows)
            scored.append(((round(share, 2) if mode > 1 else 0.0, mode, q == '"'), d, q, rows))
    scored.sort(key=lambda s: s[0], reverse=True)
    (share, mode, _), delimiter, quote, rows = scored[0]
    shown = "tab" if delimiter == "\t" else f"'{delimiter}'"
    if overrides.delimiter:
        dialect.decide("delimiter", delimiter, "given", "the delimiter parameter")
    elif mode <= 1:
        first = lines[0].rstrip("\r\n")[:80] if lines else ""
        raise DataError(
            f"cannot tell the delimiter of {source}: with ',', ';', tab and '|' alike every "
            f"line is one field (line 1: '{first}')",
            hint="set the delimiter parameter (e.g. delimiter=';'), or check that the file is "
            "a CSV export", file=source, parameter="delimiter")
    else:
        runner = next((s for s in scored[1:] if s[1] != delimiter), None)
        other = (f"; {'tab' if runner[1] == chr(9) else repr(runner[1])} gives "
                 f"{runner[0][1]} fields on {runner[0][0]:.0%}") if runner else ""
        dialect.decide("delimiter", delimiter, "detected",
                       f"{share:.0%} of the first {len(rows)} rows have {mode} fields with "
                       f"{shown}{other}")
    quoted = any(quote in cell for row in rows for cell in row) or quote in text
    dialect.decide("quote_char", quote, "given" if overrides.quote_char else "detected"
                   if quoted else "default",
                   "the quote_char parameter" if overrides.quote_char else
                   f"fields are quoted with {quote}" if quoted else "no quoted field")
    dialect.newlines_in_values = any("\n" in c or "\r" in c for row in rows for c in row)
    text = "".join(lines)
    if not dialect.newlines_in_values:
        header = rows[0] if rows else []
        return CsvHead(header, "".join(lines[:SAMPLE_ROWS + 1]),
                       min(len(lines) - 1, SAMPLE_ROWS))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=quote,
                        doublequote=True, strict=False)
    header = next(reader, [])
    count = 0
    end_line = reader.line_num
    for _ in reader:
        count += 1
        end_line = reader.line_num
        if count >= SAMPLE_ROWS:
            break
    return CsvHead(header, "".join(lines[:end_line]), count)
