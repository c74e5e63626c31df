"""Read the data a user has: detect how it is written, name and type its columns.

:func:`read_table` is the one call::

    result = read_table("export.csv", delimiter="", decimal="", feature_roles={...})
    result.table      # Arrow table, safe column names, typed (timestamps, booleans, numbers)
    result.dialect    # Dialect: every setting, each with a Decision (detected / given)
    result.columns    # [ColumnName(index, original, safe, note)]
    result.types      # {safe name: Decision} how each column's type was decided
    result.warnings   # for the data card and the stage output

Sources: CSV (also ``.gz``/``.zst``/``.bz2``), JSON Lines, Excel ``.xlsx``, Parquet, TFRecord;
one file, a folder of part files or a glob (:mod:`workbench.data.sources`). Every guess is made
on a sample from the start of the (first) file, then the whole file is read with those settings
(:mod:`workbench.data.csvread` for CSV). :func:`open_table` gives the same columns in batches of
bounded memory for files larger than memory.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from workbench.data.coltypes import ROLES, Conversion, analyze, convert
from workbench.data.csvread import CsvPlan, csv_lines, read_head
from workbench.data.dialect import (
    Decision,
    Dialect,
    ReadOverrides,
    detect_encoding,
    sniff_csv,
)
from workbench.data.names import ColumnName, safe_names
from workbench.data.sources import RawTable, Source, read_jsonl, read_xlsx, resolve_source
from workbench.data.timeparse import DateGuess
from workbench.errors import DataError, ParameterError

__all__ = ["READ_PARAMETERS", "ReadResult", "TableStream", "open_table", "read_table"]

log = logging.getLogger(__name__)

READ_PARAMETERS = tuple(ReadOverrides.__dataclass_fields__)
DEFAULT_BATCH_ROWS = 1 << 20


@dataclass
class ReadResult:
    """A table read with a detected (or given) dialect, and what was decided on the way."""

    table: pa.Table
    dialect: Dialect
    columns: list[ColumnName]
    warnings: list[str]
    source: str
    types: dict[str, Decision] = field(default_factory=dict)
    forced: dict[str, str] = field(default_factory=dict)  # safe name: role from feature_roles

    @property
    def names(self) -> dict[str, str]:
        """Original header → safe name (a duplicate header maps to its first column)."""
        out: dict[str, str] = {}
        for c in self.columns:
            out.setdefault(c.original, c.safe)
        return out

    def safe(self, name: str, parameter: str = "label") -> str:
        """The safe name of a column given by its original or safe name."""
        return resolve_name(name, self.columns, self.source, parameter)

    def original(self, safe: str) -> str:
        return next(c.original for c in self.columns if c.safe == safe)

    def to_dict(self) -> dict[str, Any]:
        """What the data card shows: the dialect with its decisions, names, types, warnings."""
        return {"source": self.source, "rows": self.table.num_rows,
                "dialect": self.dialect.to_dict(),
                "columns": [{**c.to_dict(), "type": str(self.table.schema.field(c.safe).type),
                             **({"decided": self.types[c.safe].to_dict()}
                                if c.safe in self.types else {})} for c in self.columns],
                "warnings": list(self.warnings)}


def resolve_name(name: str, columns: list[ColumnName], source: str, parameter: str) -> str:
    for column in columns:
        if name in (column.safe, column.original):
            return column.safe
    folded = [c for c in columns if name.casefold() in (c.safe, c.original.casefold())]
    if len(folded) == 1:
        return folded[0].safe
    shown = ", ".join(c.original if c.original == c.safe else f"{c.original} ({c.safe})"
                      for c in columns)
    raise ParameterError(f"{parameter} names '{name}', which is not a column of {source}",
                         hint=f"use one of: {shown}", parameter=parameter, file=source)


def _forced(opts: ReadOverrides, columns: list[ColumnName], source: str) -> dict[str, str]:
    out = {}
    for name, role in (opts.feature_roles or {}).items():
        if role not in ROLES:
            raise ParameterError(f"feature_roles gives '{name}' the unknown role '{role}'",
                                 hint=f"use one of: {', '.join(ROLES)}",
                                 parameter="feature_roles")
        out[resolve_name(name, columns, source, "feature_roles")] = role
    return out


# -- preparing a source ------------------------------------------------------------------------

@dataclass
class _Prepared:
    """What is decided once per source, and how to read each part with it."""

    source: Source
    dialect: Dialect
    columns: list[ColumnName]
    conversion: Conversion
    warnings: list[str]
    read_part: Callable[[Path, bool], tuple[pa.Table, Callable[[list[int]], list[str]]]]
    stream_part: Callable[[Path], Iterator[pa.RecordBatch | pa.Table]]
    check_part: Callable[[Path], None] = lambda path: None  # same columns as the first part

    @property
    def originals(self) -> dict[str, str]:
        return {c.safe: c.original for c in self.columns}


def _sample_strings(text: str, names: list[str], dialect: Dialect) -> dict[str, pa.Array]:
    """Every column of the CSV sample as strings (nothing converted, nothing null)."""
    table = pacsv.read_csv(
        io.BytesIO(text.encode("utf-8")),
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
        parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter,
                                         quote_char=dialect.quote_char, double_quote=True,
                                         newlines_in_values=dialect.newlines_in_values),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                             null_values=[], strings_can_be_null=False,
                                             quoted_strings_can_be_null=False))
    return {n: table.column(n).combine_chunks() for n in names}


def _prepare_csv(source: Source, opts: ReadOverrides) -> _Prepared:
    first = source.parts[0]
    dialect = Dialect(format="csv", compression=source.compression)
    head = read_head(first)
    encoding = detect_encoding(head, dialect, opts.encoding, source.display)
    text = head.decode(encoding, errors="ignore")
    sample = sniff_csv(text, dialect, opts, source.display)
    columns, warnings = safe_names(sample.header)
    names = [c.safe for c in columns]
    forced = _forced(opts, columns, source.display)
    try:
        strings = _sample_strings(sample.text, names, dialect)
    except pa.ArrowInvalid as err:
        plan = CsvPlan(dialect, names, {})
        raise plan.error(first, source.display, err) from err

    def locate_sample(rows: list[int]) -> list[str]:
        return [f"line {r + 2}" for r in rows]

    originals = {c.safe: c.original for c in columns}
    conversion = analyze(strings, originals, dialect, opts, forced, source.display,
                         locate_sample)
    as_text = {n for n, g in conversion.guesses.items()
               if g.kind == "string" or g.grouped or forced.get(n) in ("numeric", "datetime")
               and g.kind not in ("int", "float", "datetime")}
    plan = CsvPlan(dialect, names, conversion.guesses, as_text)
    header = sample.header

    def read_part(path: Path, is_first: bool) -> tuple[pa.Table, Callable]:
        if not is_first:
            _same_header(source, first, header, path, _csv_header(path, dialect))
        table = plan.read(path, _name(source, path))

        def locate(rows: list[int]) -> list[str]:
            found = csv_lines(path, dialect, rows)
            return [f"line {found[r]}" if r in found else f"data row {r + 1}" for r in rows]

        return table, locate

    def stream_part(path: Path) -> Iterator[pa.RecordBatch]:
        return plan.batches(path, _name(source, path))

    def check_part(path: Path) -> None:
        if path != first:
            _same_header(source, first, header, path, _csv_header(path, dialect))

    return _Prepared(source, dialect, columns, conversion, warnings, read_part, stream_part,
                     check_part)


def _csv_header(path: Path, dialect: Dialect) -> list[str]:
    import csv

    text = read_head(path, 1 << 16).decode(dialect.encoding, errors="replace").lstrip("\ufeff")
    return next(csv.reader(io.StringIO(text), delimiter=dialect.delimiter,
                           quotechar=dialect.quote_char), [])


def _name(source: Source, path: Path) -> str:
    return str(path) if source.single else f"{path} (part of {source.display})"


def _same_header(source: Source, first: Path, header: list[str], path: Path,
                 other: list[str]) -> None:
    if other == header:
        return
    lacks = [h for h in header if h not in other]
    extra = [h for h in other if h not in header]
    what = "; ".join(x for x in (
        f"it lacks {', '.join(repr(h) for h in lacks)}" if lacks else "",
        f"it has {', '.join(repr(h) for h in extra)}, which {first.name} has not" if extra
        else "", "its columns are in another order" if not lacks and not extra else "") if x)
    raise DataError(f"the part files of {source.display} have different columns: {path.name} "
                    f"differs from {first.name}: {what}",
                    hint="point data_path at part files with the same header (a glob such as "
                    "part-*.csv selects some), or fix the export", file=str(path),
                    parameter="data_path")


def _raw_reader(source: Source, opts: ReadOverrides, dialect: Dialect
                ) -> Callable[[Path], RawTable]:
    def read(path: Path) -> RawTable:
        if source.format == "jsonl":
            return read_jsonl(path)
        if source.format == "xlsx":
            raw, sheet, why = read_xlsx(path, opts.sheet)
            dialect.decide("sheet", sheet, "given" if opts.sheet else "detected", why)
            return raw
        from workbench.data.readers import reader_for

        table = reader_for(path).read(path)
        return RawTable(list(table.column_names),
                        table.rename_columns([f"c{i}" for i in range(table.num_columns)]),
                        first_line=0, where="row")
    return read


def _prepare_raw(source: Source, opts: ReadOverrides) -> _Prepared:
    dialect = Dialect(format=source.format, compression=source.compression)
    dialect.decide("format", source.format, "detected",
                   f"the file name ends in {source.parts[0].suffix}")
    ignored = [k for k in ("delimiter", "quote_char", "encoding") if getattr(opts, k)]
    if ignored:
        dialect.warnings.append(f"{', '.join(ignored)} apply to CSV files only: ignored for "
                                f"{source.format}")
    read_raw = _raw_reader(source, opts, dialect)
    first = read_raw(source.parts[0])
    columns, warnings = safe_names(first.headers)
    names = [c.safe for c in columns]
    forced = _forced(opts, columns, source.display)
    table = first.table.rename_columns(names)
    strings = {n: table.column(n).combine_chunks() for n in names
               if pa.types.is_string(table.schema.field(n).type)}
    originals = {c.safe: c.original for c in columns}

    def locate_first(rows: list[int]) -> list[str]:
        return [f"{first.where} {first.line(r)}" for r in rows]

    conversion = analyze(strings, originals, dialect, opts, forced, source.display,
                         locate_first)

    def read_part(path: Path, is_first: bool) -> tuple[pa.Table, Callable]:
        raw = first if is_first else read_raw(path)
        if not is_first:
            _same_header(source, source.parts[0], first.headers, path, raw.headers)

        def locate(rows: list[int]) -> list[str]:
            return [f"{raw.where} {raw.line(r)}" for r in rows]

        return raw.table.rename_columns(names), locate

    def stream_part(path: Path) -> Iterator[pa.Table]:
        table, _ = read_part(path, path == source.parts[0])  # checks the part's columns
        yield from table.to_batches(DEFAULT_BATCH_ROWS)

    def check_part(path: Path) -> None:
        if source.format == "parquet" and path != source.parts[0]:  # the footer only
            import pyarrow.parquet as pq

            _same_header(source, source.parts[0], first.headers, path,
                         pq.read_schema(path).names)

    return _Prepared(source, dialect, columns, conversion, warnings, read_part, stream_part,
                     check_part)


def _prepare(data_path: str | os.PathLike[str], overrides: ReadOverrides | dict[str, Any]
             ) -> _Prepared:
    opts = overrides if isinstance(overrides, ReadOverrides) else ReadOverrides(**overrides)
    source = resolve_source(data_path)
    prepared = (_prepare_csv if source.format == "csv" else _prepare_raw)(source, opts)
    prepared.warnings = prepared.dialect.warnings + prepared.warnings
    for warning in prepared.warnings:
        log.warning("%s", warning)
    return prepared


# -- the public calls --------------------------------------------------------------------------

def read_table(data_path: str | os.PathLike[str], **overrides: Any) -> ReadResult:
    """Read a file, folder or glob whole. ``overrides`` are the :data:`READ_PARAMETERS`
    (``delimiter``, ``quote_char``, ``encoding``, ``decimal``, ``thousands``, ``null_values``,
    ``true_values``, ``false_values``, ``sheet``, ``date_format``, ``feature_roles``);
    empty ones are detected."""
    p = _prepare(data_path, overrides)
    tables, locates, offsets = [], [], [0]
    for i, part in enumerate(p.source.parts):
        table, locate = p.read_part(part, i == 0)
        tables.append(table.select([c.safe for c in p.columns]))
        locates.append(locate)
        offsets.append(offsets[-1] + table.num_rows)

    def locate_any(rows: list[int]) -> list[str]:
        out = []
        for row in rows:
            k = next(i for i in range(len(tables)) if row < offsets[i + 1])
            where = locates[k]([row - offsets[k]])[0]
            out.append(where if p.source.single else f"{where} of {p.source.parts[k].name}")
        return out

    table = _concat(tables, p.source)
    if table.num_rows == 0:
        raise DataError(f"{p.source.display} has a header ({table.num_columns} columns) but no "
                        "rows", hint="the file holds no data; check the export that wrote it",
                        file=p.source.display)
    table = convert(table, p.conversion, p.originals, p.source.display, locate_any,
                    from_text=p.source.format != "csv")
    log.info("read %s: %d rows, %d columns (%s)", p.source.display, table.num_rows,
             table.num_columns, p.source.format)
    return ReadResult(table, p.dialect, p.columns, p.warnings, p.source.display,
                      p.conversion.types, p.conversion.forced)


def _concat(tables: list[pa.Table], source: Source) -> pa.Table:
    if len(tables) == 1:
        return tables[0]
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        first = tables[0].schema
        for path, table in zip(source.parts[1:], tables[1:], strict=True):
            for f in table.schema:
                if first.field(f.name).type != f.type:
                    raise DataError(
                        f"column '{f.name}' is {first.field(f.name).type} in "
                        f"{source.parts[0].name} but {f.type} in {path.name} (parts of "
                        f"{source.display})", hint="give the column one type in every part, "
                        f"or set feature_roles {{'{f.name}': 'categorical'}}",
                        file=str(path), column=f.name, parameter="feature_roles") from err
        raise


@dataclass
class TableStream:
    """The columns of a source and its rows in batches (memory bounded by the batch size)."""

    dialect: Dialect
    columns: list[ColumnName]
    warnings: list[str]
    source: str
    _prepared: _Prepared

    @property
    def date_formats(self) -> dict[str, DateGuess]:
        """How each date/time column is written (detected on the sample or given by
        ``date_format``), by safe name: what :func:`~workbench.data.timeparse.parse_timestamps`
        reads values with, one by one."""
        return {n: g.date for n, g in self._prepared.conversion.guesses.items()
                if g.date is not None}

    @property
    def parts(self) -> tuple[Path, ...]:
        """The files of the source (one, or the part files of a folder or glob)."""
        return self._prepared.source.parts

    def check_parts(self) -> None:
        """Refuse a part whose columns differ from the first part's (naming both and the
        columns), reading no more than each part's header or footer where the format has one;
        the other formats are checked as each part is read."""
        for part in self.parts:
            self._prepared.check_part(part)

    def sample(self) -> ReadResult:
        """The first batch of the first part, as :func:`read_table` would have read it: what
        decisions on the rows (roles, label, key) are made from when the data is not read
        whole."""
        p = self._prepared
        table = next(iter(self.part_batches(self.parts[0])), None)
        if table is None or table.num_rows == 0:
            raise DataError(f"{self.source} has a header but no rows",
                            hint="the file holds no data; check the export that wrote it",
                            file=self.source)
        return ReadResult(table, self.dialect, self.columns, self.warnings, self.source,
                          p.conversion.types, p.conversion.forced)

    def batches(self) -> Iterator[pa.Table]:
        for part in self.parts:
            yield from self.part_batches(part)

    def part_batches(self, part: Path) -> Iterator[pa.Table]:
        """The rows of one part file, converted as the whole source is (the types decided on
        the first part's sample); how a worker reads its shard."""
        p = self._prepared
        names = [c.safe for c in self.columns]
        rows = 0
        where = "" if p.source.single else f" of {Path(part).name}"

        def locate(found: list[int]) -> list[str]:
            return [f"data row {rows + r + 1}{where}" for r in found]

        p.check_part(part)
        for batch in p.stream_part(part):
            table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) \
                else batch
            yield convert(table.select(names), p.conversion, p.originals, self.source,
                          locate, from_text=p.source.format != "csv")
            rows += table.num_rows


def open_table(data_path: str | os.PathLike[str], **overrides: Any) -> TableStream:
    """Like :func:`read_table`, but the rows come from :meth:`TableStream.batches`."""
    p = _prepare(data_path, overrides)
    return TableStream(p.dialect, p.columns, p.warnings, p.source.display, p)
