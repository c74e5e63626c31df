"""The rows to score, in batches of bounded memory, and what each feature's value is per row.

Columns are named exactly as stage 01 names them (:func:`workbench.data.names.safe_names`, the
original header or its safe name both match) and a CSV file is read with the dialect stage 01
detects (:func:`workbench.data.reading.open_table`) or the run's reading parameters. Unlike
stage 01, which refuses a column that mixes numbers and text, scoring decides per row: every
CSV column is read as text and each feature is converted with the same value parsers
(:func:`workbench.data.values.to_numbers` in the file's number format), so a bad value rejects
its row, with the reason, and never the file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.data.names import ColumnName, safe_names
from workbench.data.reading import resolve_name
from workbench.data.sources import Source, resolve_source
from workbench.data.values import NumberFormat, to_numbers
from workbench.errors import DataError
from workbench.export.contract import MISSING_INT64, Feature

__all__ = ["Batch", "ScoringSource", "coerce_features"]

log = logging.getLogger(__name__)

#: ISO 8601 dates and times (what a date/time feature given as text is parsed as)
_ISO = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
_CSV_BLOCK = 1 << 22


@dataclass
class Batch:
    """Rows of the input (safe column names) and the 1-based data row number of the first."""

    table: pa.Table
    first_row: int


@dataclass
class ScoringSource:
    """A file, folder or glob of part files, opened for scoring."""

    source: Source
    columns: list[ColumnName]
    number_format: NumberFormat = field(default_factory=NumberFormat)
    null_values: tuple[str, ...] = ()
    _csv: Any = None  # the detected Dialect of a CSV source
    #: how each date/time column of a CSV source is written (safe name → DateGuess)
    date_formats: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, data: str | os.PathLike[str], read_overrides: dict[str, Any] | None = None
             ) -> ScoringSource:
        """Resolve the parts and name the columns; ``read_overrides`` are stage 01's reading
        parameters (empty values: detected)."""
        source = resolve_source(data)
        overrides = {k: v for k, v in (read_overrides or {}).items() if v not in ("", None, [])}
        if source.format == "csv":
            from workbench.data.reading import open_table

            stream = open_table(data, **overrides)
            d = stream.dialect
            return cls(source, stream.columns, NumberFormat(d.decimal, d.thousands),
                       tuple(d.null_values), d, stream.date_formats)
        headers = _headers(source)
        columns, warnings = safe_names(headers)
        for warning in warnings:
            log.warning("%s", warning)
        return cls(source, columns)

    @property
    def names(self) -> list[str]:
        return [c.safe for c in self.columns]

    def resolve(self, name: str, parameter: str) -> str:
        """The safe name of a column given by its original header or safe name."""
        return resolve_name(name, self.columns, self.source.display, parameter)

    def rows_hint(self) -> int | None:
        """Rows in the source when its format says so cheaply (Parquet), else None."""
        from workbench.data.readers import count_rows

        total = 0
        for part in self.source.parts:
            rows = count_rows(part) if self.source.format in ("parquet",) else None
            if rows is None:
                return None
            total += rows
        return total

    def batches(self, batch_rows: int) -> Iterator[Batch]:
        """The rows in batches of at most ``batch_rows`` (memory bounded by it, except for
        JSON Lines and Excel files, which are read whole, as stage 01 reads them)."""
        names = self.names
        row = 1
        for part in self.source.parts:
            for table in self._part(part, batch_rows):
                table = table.rename_columns(names)
                for start in range(0, table.num_rows, batch_rows):
                    chunk = table.slice(start, batch_rows)
                    yield Batch(chunk, row)
                    row += chunk.num_rows

    def _part(self, path: Path, batch_rows: int) -> Iterator[pa.Table]:
        fmt = self.source.format
        if fmt == "csv":
            yield from self._csv_part(path)
        elif fmt in ("parquet", "tfrecord"):
            from workbench.data.readers import iter_batches

            for batch in iter_batches(path, batch_rows=batch_rows):
                table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) \
                    else batch
                _same_columns(self, path, table.column_names)
                yield table
        else:
            raw = _read_raw(self.source, path)
            _same_columns(self, path, raw.headers)
            yield raw.table

    def _csv_part(self, path: Path) -> Iterator[pa.Table]:
        import pyarrow.csv as pacsv

        from workbench.data.sources import open_bytes

        d = self._csv
        names = self.names
        read = pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=_CSV_BLOCK,
                                 encoding="utf8" if d.encoding == "utf-8" else d.encoding)
        parse = pacsv.ParseOptions(delimiter=d.delimiter, quote_char=d.quote_char,
                                   double_quote=True, newlines_in_values=d.newlines_in_values)
        convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                       null_values=list(d.null_values) or [""],
                                       strings_can_be_null=True)
        try:
            with open_bytes(path) as stream:
                for batch in pacsv.open_csv(stream, read, parse, convert):
                    yield pa.Table.from_batches([batch])
        except pa.ArrowInvalid as err:
            raise DataError(f"cannot read {path} as CSV ({d.delimiter!r}-delimited): {err}",
                            hint="every line needs one field per column; set delimiter / "
                            "quote_char if the detected ones are wrong", file=str(path),
                            parameter="delimiter") from err


def _headers(source: Source) -> list[str]:
    first = source.parts[0]
    if source.format == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(first).names)
    if source.format == "tfrecord":
        from workbench.data.readers import iter_batches

        for batch in iter_batches(first, batch_rows=64):
            return list(batch.column_names)
        raise DataError(f"{first} holds no records", hint="point --data at a file with rows",
                        file=str(first))
    return list(_read_raw(source, first).headers)


def _read_raw(source: Source, path: Path) -> Any:
    from workbench.data.sources import read_jsonl, read_xlsx

    if source.format == "jsonl":
        return read_jsonl(path)
    if source.format == "xlsx":
        return read_xlsx(path, None)[0]
    raise DataError(f"{path}: scoring reads CSV, JSON Lines, Excel, Parquet and TFRecord "
                    f"files, not {source.format}", hint="convert the file to Parquet or CSV",
                    file=str(path))


def _same_columns(src: ScoringSource, path: Path, headers: Sequence[str]) -> None:
    expected = [c.original for c in src.columns]
    if list(headers) != expected:
        lacks = [h for h in expected if h not in headers]
        raise DataError(f"the part files of {src.source.display} have different columns: "
                        f"{path.name} lacks {', '.join(lacks) or 'none'} or adds others",
                        hint="score part files with the same columns", file=str(path))


# -- per-row conversion ------------------------------------------------------------------------

def _text(col: pa.ChunkedArray) -> bool:
    return pa.types.is_string(col.type) or pa.types.is_large_string(col.type)


def coerce_features(table: pa.Table, features: Sequence[Feature], *,
                    number_format: NumberFormat, null_values: Sequence[str] = (),
                    on_missing: str = "impute", date_formats: dict[str, Any] | None = None
                    ) -> tuple[dict[str, np.ndarray], np.ndarray, list[str | None]]:
    """The model's 1-D input arrays for every row of ``table`` (safe column names), a mask of
    the rows that can be scored, and per row the reason it cannot (None when it can).
    ``date_formats``: how a date/time column given as text is written (stage 01's detection);
    without one, text dates are read as ISO 8601 or epoch seconds.

    A value that does not convert to the feature's type is a bad value; a missing value is fed
    as the model contract's missing value (the model imputes it) unless ``on_missing`` is
    ``"reject"``."""
    n = table.num_rows
    reasons: list[str | None] = [None] * n
    good = np.ones(n, dtype=bool)

    def reject(mask: np.ndarray, why: Any) -> None:
        for r in np.flatnonzero(mask & good):
            reasons[r] = why(r) if callable(why) else why
        good[mask] = False

    arrays: dict[str, np.ndarray] = {}
    tokens = pa.array(list(null_values), pa.string()) if null_values else None
    for f in features:
        col = table.column(f.column)
        if _text(col) and tokens is not None:
            col = pc.if_else(pc.is_in(pc.utf8_trim_whitespace(col), tokens),
                             pa.scalar(None, col.type), col)
        if _text(col):
            col = pc.if_else(pc.equal(pc.utf8_trim_whitespace(col), ""),
                             pa.scalar(None, col.type), col)
        missing = np.asarray(pc.is_null(col).to_numpy(zero_copy_only=False), dtype=bool)
        if on_missing == "reject" and missing.any():
            reject(missing, f"feature '{f.column}' is missing")
        if f.is_string:
            text = col if _text(col) else pc.cast(col, pa.string())
            arrays[f.name] = pc.cast(pc.fill_null(text, ""), pa.binary()) \
                .to_numpy(zero_copy_only=False).astype(bytes)
        elif f.is_int64:
            formats = date_formats if date_formats is not None else {}
            if f.column not in formats and _text(col):
                formats[f.column] = _guess_format(col)  # once per source: every batch alike
            arrays[f.name] = _seconds(col, f, number_format, reject, formats.get(f.column))
        else:
            arrays[f.name] = _floats(col, f, number_format, reject)
    return arrays, good, reasons


def _floats(col: pa.ChunkedArray, f: Feature, fmt: NumberFormat, reject: Any) -> np.ndarray:
    if _text(col):
        parsed, failed = to_numbers(col, fmt)
        bad = np.asarray(pc.fill_null(failed, False).to_numpy(zero_copy_only=False), bool)
        if bad.any():
            values = col.to_numpy(zero_copy_only=False)
            reject(bad, lambda r: f"feature '{f.column}' is {values[r]!r}, not a number")
        col = parsed
    elif pa.types.is_boolean(col.type):
        col = pc.cast(col, pa.int8())
    elif not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
              or pa.types.is_decimal(col.type) or pa.types.is_null(col.type)):
        reject(np.ones(len(col), dtype=bool),
               f"feature '{f.column}' is {col.type} in this file; the model takes a number")
        return np.full(len(col), np.nan, dtype=np.float32)
    values = pc.cast(col, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    values = np.asarray(values, dtype=np.float64)
    infinite = np.isinf(values)
    if infinite.any():
        reject(infinite, f"feature '{f.column}' is infinite")
    return values.astype(np.float32)


def _guess_format(col: pa.ChunkedArray) -> Any:
    """The date format of a text column the file's own detection did not take for dates
    (a few bad values in its sample): guessed on the values that start like a date."""
    from workbench.data.timeparse import MixedFormats, guess_date_format

    values = pc.drop_null(pc.utf8_trim_whitespace(col)).combine_chunks()
    values = values.filter(pc.match_substring_regex(values, r"^\d{1,4}[./-]\d"))
    try:
        return guess_date_format(values.slice(0, 10_000))
    except MixedFormats:
        return None  # two formats: read as ISO 8601 or epoch seconds, the rest rejected


def _seconds(col: pa.ChunkedArray, f: Feature, fmt: NumberFormat, reject: Any,
             written: Any) -> np.ndarray:
    from workbench.features.arrays import int64_seconds

    if _text(col) and written is not None:  # the column's own format, as stage 01 reads it
        from workbench.data.timeparse import parse_timestamps

        parsed, failed = parse_timestamps(pc.utf8_trim_whitespace(col), written)
        bad = np.asarray(pc.fill_null(failed, False).to_numpy(zero_copy_only=False), bool)
        if bad.any():
            values = col.to_numpy(zero_copy_only=False)
            reject(bad, lambda r: f"feature '{f.column}' is {values[r]!r}, not a date written "
                   f"{written.label}")
        col = parsed
    if _text(col):
        as_number, not_number = to_numbers(col, fmt)
        iso = pc.match_substring_regex(pc.utf8_trim_whitespace(col), _ISO)
        text = pc.if_else(iso, pc.utf8_trim_whitespace(col), pa.scalar(None, pa.string()))
        stamps = pc.cast(pc.cast(pc.replace_substring(text, ",", "."),
                                 pa.timestamp("us", tz="UTC")), pa.timestamp("s", tz="UTC"),
                         safe=False)
        bad = pc.and_(pc.fill_null(not_number, False), pc.invert(pc.fill_null(iso, False)))
        bad_np = np.asarray(bad.to_numpy(zero_copy_only=False), dtype=bool)
        if bad_np.any():
            values = col.to_numpy(zero_copy_only=False)
            reject(bad_np, lambda r: f"feature '{f.column}' is {values[r]!r}, neither ISO 8601 "
                   "nor epoch seconds")
        seconds = pc.if_else(pc.fill_null(iso, False), pc.cast(stamps, pa.int64()),
                             pc.cast(pc.floor(as_number), pa.int64(), safe=False))
        return pc.fill_null(seconds, MISSING_INT64).to_numpy(zero_copy_only=False) \
            .astype(np.int64)
    try:
        return int64_seconds(col, column=f.column, where="the scored file")
    except DataError as err:
        reject(np.ones(len(col), dtype=bool), f"feature '{f.column}': {err.message}")
        return np.full(len(col), MISSING_INT64, dtype=np.int64)
