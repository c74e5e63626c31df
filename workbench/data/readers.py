"""Readers: CSV, Parquet and TFRecord files of ``tf.train.Example`` into Arrow.

One registry shape: :func:`register_reader` maps file suffixes to a :class:`Reader` that reads a
whole file (:meth:`Reader.read`), reads it in batches of bounded size (:meth:`Reader.batches`) and
counts its rows cheaply where the format allows. Every error names the file and, where it
applies, the column and the line or row, and says how to fix the input:

* CSV: ragged rows (line and field counts), text that is not UTF-8 (line, column, byte), columns
  mixing numbers and text (column, lines of the odd values);
* Parquet: files that are not Parquet;
* TFRecord: framing damage and records that are not ``tf.train.Example`` (record index).
"""

from __future__ import annotations

import csv
import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from workbench.errors import DataError
from workbench.registry import Registry

__all__ = [
    "Reader",
    "all_null_columns",
    "count_rows",
    "iter_batches",
    "read_data",
    "reader_for",
    "readers",
    "register_reader",
]

log = logging.getLogger(__name__)

DEFAULT_BATCH_ROWS = 1 << 20
CSV_BLOCK_BYTES = 32 << 20  # a large CSV file is read in blocks of this size


def _check_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"data file {path} does not exist",
                        hint="check the data_path parameter (relative paths are taken from the "
                        "project folder), or leave it empty to use a bundled dataset",
                        file=str(path))
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a data file",
                        hint="point data_path at one .csv or .parquet file", file=str(path))
    if not os.access(path, os.R_OK):
        raise DataError(f"data file {path} is not readable (permission denied)",
                        hint=f"fix its permissions, e.g. chmod u+r {path}", file=str(path))
    if path.stat().st_size == 0:
        raise DataError(f"data file {path} is empty (0 bytes)",
                        hint="write the data again, or point data_path at another file",
                        file=str(path))


@dataclass(frozen=True)
class Reader:
    name: str
    suffixes: tuple[str, ...]
    read: Callable[[Path], pa.Table]
    batches: Callable[[Path, int], Iterator[pa.RecordBatch | pa.Table]]
    count: Callable[[Path], int | None] = lambda path: None


_READERS: Registry[Reader] = Registry("data reader")


def register_reader(reader: Reader) -> Reader:
    return _READERS.register(reader.name, reader)


def readers() -> list[Reader]:
    return [_READERS.get(n) for n in _READERS.names()]


def reader_for(path: Path) -> Reader:
    name = path.name.lower()
    for reader in readers():
        if name.endswith(reader.suffixes):
            return reader
    known = ", ".join(s for r in readers() for s in r.suffixes)
    raise DataError(f"cannot read {path}: unknown format '{path.suffix or path.name}'",
                    hint=f"use a file ending in one of: {known}", file=str(path))


def read_data(path: str | os.PathLike[str]) -> pa.Table:
    """The whole file as an Arrow table; refuses empty, header-only and all-null data."""
    path = Path(path)
    _check_file(path)
    table = reader_for(path).read(path)
    if table.num_columns == 0:
        raise DataError(f"data file {path} has no columns", file=str(path),
                        hint="the first line must be a header naming the columns")
    if table.num_rows == 0:
        raise DataError(
            f"data file {path} has a header ({table.num_columns} columns) but no rows",
            hint="the file holds no data; check the export that wrote it", file=str(path))
    return table


def iter_batches(path: str | os.PathLike[str], *,
                 batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch | pa.Table]:
    """The file in batches of at most about ``batch_rows`` rows (memory stays bounded)."""
    path = Path(path)
    _check_file(path)
    yield from reader_for(path).batches(path, batch_rows)


def count_rows(path: str | os.PathLike[str]) -> int | None:
    """Rows in the file when the format says so cheaply (Parquet metadata), else None."""
    path = Path(path)
    return reader_for(path).count(path)


def all_null_columns(table: pa.Table) -> list[str]:
    """Columns without a single value (null, or NaN for floats)."""
    out = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if column.null_count == len(column):
            out.append(name)
        elif pa.types.is_floating(column.type):
            if not pc.any(pc.invert(pc.is_nan(column.drop_null()))).as_py():
                out.append(name)
    return out


# -- CSV ---------------------------------------------------------------------------------------

_NUMBER = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"
_MIXED_SHARE = 0.9  # a text column whose values are at least this share numbers is "mixed"


def _read_csv(path: Path) -> pa.Table:
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(path)
    except pa.ArrowInvalid as err:
        raise _csv_error(path, err) from err
    _check_csv_columns(table, path)
    return table


def _csv_batches(path: Path, batch_rows: int) -> Iterator[pa.RecordBatch | pa.Table]:
    import pyarrow.csv as pacsv

    # Type inference sees the first block; make it large so it sees representative rows.
    opts = pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES)
    try:
        reader = pacsv.open_csv(path, read_options=opts)
        first = True
        for batch in reader:
            if first:
                _check_csv_columns(pa.Table.from_batches([batch]), path)
                first = False
            for start in range(0, batch.num_rows, batch_rows):
                yield batch.slice(start, batch_rows)
    except pa.ArrowInvalid as err:
        raise _csv_error(path, err, streamed=True) from err


def _csv_error(path: Path, err: Exception, *, streamed: bool = False) -> DataError:
    text = str(err)
    ragged = re.search(r"Expected (\d+) columns, got (\d+)", text)
    if ragged:
        line, fields, header = _find_ragged_line(path)
        where = f"line {line}" if line else "a line"
        return DataError(
            f"CSV file {path}: {where} has {fields or ragged.group(2)} fields but the header "
            f"has {header or ragged.group(1)} columns",
            hint="every line needs one field per header column; quote fields that contain "
            "commas, or fix the line", file=str(path), row=(line - 2) if line else None)
    conversion = re.search(r"column #(\d+): CSV conversion error to (\w+): invalid value '(.*)'",
                           text)
    if conversion:
        index, type_name, value = int(conversion.group(1)), conversion.group(2), \
            conversion.group(3)
        header, line = _find_value_line(path, index, value)
        column = header[index] if index < len(header) else f"#{index}"
        hint = ("a column must hold one type: fix or remove the odd value")
        if streamed:
            hint += ("; a large CSV file is read in blocks and the first block decides each "
                     "column's type, so also make the first rows representative (write 1.0, "
                     "not 1, in a float column) or convert the file to Parquet")
        return DataError(
            f"column '{column}' of CSV file {path} mixes types: it holds {type_name} values "
            f"before line {line or '?'}, then '{value}' on line {line or '?'}",
            hint=hint, file=str(path), column=column, row=(line - 2) if line else None)
    return DataError(f"cannot parse CSV file {path}: {text}",
                     hint="fix the file: one header line, the same number of fields on every "
                     "line, UTF-8 text", file=str(path))


def _find_ragged_line(path: Path) -> tuple[int | None, int | None, int | None]:
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        for row in reader:
            if row and len(row) != len(header):
                return reader.line_num, len(row), len(header)
    return None, None, len(header)


def _find_value_line(path: Path, index: int, value: str) -> tuple[list[str], int | None]:
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        for row in reader:
            if len(row) > index and row[index] == value:
                return header, reader.line_num
    return header, None


def _check_csv_columns(table: pa.Table, path: Path) -> None:
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            raise _utf8_error(path, name)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            _check_mixed(path, name, column)


def _utf8_error(path: Path, column: str) -> DataError:
    with open(path, "rb") as fh:
        header = fh.readline()
        for line_no, raw in enumerate(fh, start=2):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as err:
                bad = raw[err.start:err.start + 1].hex()
                fields = next(csv.reader([raw.decode("utf-8", "surrogateescape")]))
                names = next(csv.reader([header.decode("utf-8", "replace")]))
                where = next((names[i] for i, f in enumerate(fields)
                              if any("\udc80" <= ch <= "\udcff" for ch in f)
                              and i < len(names)), column)
                return DataError(
                    f"CSV file {path} is not UTF-8 text: line {line_no}, column '{where}' has "
                    f"the byte 0x{bad}, which is not valid UTF-8",
                    hint="save the file as UTF-8 (for example: iconv -f latin1 -t utf-8 "
                    f"{path.name} > fixed.csv)", file=str(path), column=where, row=line_no - 2)
    return DataError(f"column '{column}' of CSV file {path} holds bytes that are not UTF-8 text",
                     hint="save the file as UTF-8", file=str(path), column=column)


def _check_mixed(path: Path, name: str, column: pa.ChunkedArray) -> None:
    values = column.drop_null()
    n = len(values)
    if n == 0:
        return
    numeric = pc.match_substring_regex(values, _NUMBER)
    n_num = int(pc.sum(numeric).as_py() or 0)
    if n_num == n or n_num < _MIXED_SHARE * n:
        return
    is_text = pc.and_(pc.is_valid(column), pc.invert(pc.match_substring_regex(column, _NUMBER)))
    rows = pc.indices_nonzero(pc.fill_null(is_text, False)).to_pylist()
    first = [(r, column[r].as_py()) for r in rows[:3]]
    shown = ", ".join(f"line {r + 2}: '{v}'" for r, v in first)
    more = f" and {len(rows) - len(first)} more" if len(rows) > len(first) else ""
    raise DataError(
        f"column '{name}' of CSV file {path} mixes numbers and text: {n_num:,} of {n:,} values "
        f"are numbers, {n - n_num:,} {'is' if n - n_num == 1 else 'are'} not ({shown}{more})",
        hint="fix or remove the values that are not numbers (leave a field empty for a missing "
        "value)", file=str(path), column=name, row=first[0][0])


# -- Parquet -----------------------------------------------------------------------------------

def _parquet_file(path: Path, **options: bool):  # noqa: ANN202 - pyarrow's ParquetFile
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path, **options)
    except (pa.ArrowInvalid, OSError) as err:
        raise DataError(f"cannot read Parquet file {path}: {err}",
                        hint="check that the file is complete Parquet (not CSV renamed)",
                        file=str(path)) from err


def _read_parquet(path: Path) -> pa.Table:
    try:
        return _parquet_file(path).read()
    except (pa.ArrowInvalid, OSError) as err:
        raise DataError(f"cannot read Parquet file {path}: {err}",
                        hint="the file is damaged; write it again", file=str(path)) from err


def _parquet_batches(path: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    # Pre-buffering keeps every column chunk it fetched: memory would grow with the file.
    pf = _parquet_file(path, pre_buffer=False)
    try:
        yield from pf.iter_batches(batch_size=batch_rows)
    except (pa.ArrowInvalid, OSError) as err:
        raise DataError(f"cannot read Parquet file {path}: {err}",
                        hint="the file is damaged; write it again", file=str(path)) from err


def _parquet_rows(path: Path) -> int:
    return _parquet_file(path).metadata.num_rows


# -- TFRecord ----------------------------------------------------------------------------------

def _read_tfrecord(path: Path) -> pa.Table:
    from workbench.data.tfrecord import read_tfrecord

    return read_tfrecord(path)


def _tfrecord_batches(path: Path, batch_rows: int) -> Iterator[pa.Table]:
    from workbench.data.tfrecord import iter_tfrecord_batches

    yield from iter_tfrecord_batches(path, batch_rows=batch_rows)


register_reader(Reader("csv", (".csv",), _read_csv, _csv_batches))
register_reader(Reader("parquet", (".parquet", ".pq"), _read_parquet, _parquet_batches,
                       _parquet_rows))
register_reader(Reader("tfrecord", (".tfrecord", ".tfrecords", ".tfrecord.gz"),
                       _read_tfrecord, _tfrecord_batches))
