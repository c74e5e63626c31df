"""Where the data is: one file, a folder of part files, or a glob; and the readers of the
formats that are not CSV (JSON Lines, Excel), which return raw Arrow tables for
:mod:`workbench.data.reading` to name and type.

A folder is read with every data file below it (hidden files and ``_SUCCESS``-style markers are
skipped), a glob (``exports/part-*.csv``) with the files it matches, both in sorted order; all
parts must be of one format (compressed or not) and have the same columns.
"""

from __future__ import annotations

import glob
import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from workbench.errors import DataError

__all__ = ["FORMATS", "RawTable", "Source", "open_bytes", "read_jsonl", "read_xlsx",
           "resolve_source"]

log = logging.getLogger(__name__)

FORMATS = {
    "csv": (".csv", ".tsv", ".txt"),
    "jsonl": (".jsonl", ".ndjson"),
    "xlsx": (".xlsx", ".xlsm"),
    "parquet": (".parquet", ".pq"),
    "tfrecord": (".tfrecord", ".tfrecords"),
}
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2"}
_GLOB = set("*?[")


@dataclass(frozen=True)
class Source:
    """The files to read, in order, and their format."""

    display: str  # the data_path as given
    parts: tuple[Path, ...]
    format: str
    compression: str = ""

    @property
    def single(self) -> bool:
        return len(self.parts) == 1


@dataclass
class RawTable:
    """A table as read, before naming and typing: headers in file order, columns named by
    position (``c0``, ``c1`` …), and for each row the line (or sheet row) it came from."""

    headers: list[str]
    table: pa.Table
    lines: list[int] | None = None  # None: row r is on line r + first_line
    first_line: int = 2
    where: str = "line"  # "line" or "row"
    notes: list[str] = field(default_factory=list)

    def line(self, row: int) -> int:
        return self.lines[row] if self.lines is not None else row + self.first_line


def format_of(path: Path) -> tuple[str | None, str]:
    """The format and compression a file name says (``x.csv.gz`` → csv, gzip)."""
    name = path.name.lower()
    compression = ""
    for suffix, codec in COMPRESSIONS.items():
        if name.endswith(suffix):
            name, compression = name[: -len(suffix)], codec
            break
    for fmt, suffixes in FORMATS.items():
        if name.endswith(suffixes):
            if fmt == "tfrecord" and compression not in ("", "gzip"):
                return None, compression
            return fmt, compression
    return None, compression


def _known_suffixes() -> str:
    return ", ".join(s for suffixes in FORMATS.values() for s in suffixes) + \
        " (also compressed: .gz, .zst)"


def _data_files(folder: Path) -> list[Path]:
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).parts
        if path.is_file() and not any(p.startswith((".", "_")) for p in rel):
            out.append(path)
    return out


def resolve_source(data_path: str | os.PathLike[str]) -> Source:
    """The parts and format of a file, folder or glob; errors name what is wrong."""
    text = str(data_path)
    if _GLOB & set(Path(text).name) or _GLOB & set(text):
        parts = [Path(p) for p in sorted(glob.glob(text, recursive=True)) if Path(p).is_file()]
        if not parts:
            raise DataError(f"the pattern {text} matches no file",
                            hint="check the data_path parameter (the folder, and the pattern "
                            "such as part-*.parquet)", file=text, parameter="data_path")
    elif Path(text).is_dir():
        parts = [p for p in _data_files(Path(text)) if format_of(p)[0]]
        if not parts:
            raise DataError(f"the folder {text} holds no data file",
                            hint=f"put part files ending in {_known_suffixes()} there, or "
                            "point data_path at a file", file=text, parameter="data_path")
    else:
        from workbench.data.readers import _check_file

        _check_file(Path(text))
        parts = [Path(text)]
    kinds = {p: format_of(p) for p in parts}
    unknown = [p for p, (fmt, _) in kinds.items() if fmt is None]
    if unknown:
        raise DataError(f"cannot read {unknown[0]}: unknown format "
                        f"'{unknown[0].suffix or unknown[0].name}'",
                        hint=f"use files ending in one of: {_known_suffixes()}",
                        file=str(unknown[0]), parameter="data_path")
    formats = sorted({fmt for fmt, _ in kinds.values() if fmt})
    if len(formats) > 1:
        examples = ", ".join(f"{next(p.name for p, k in kinds.items() if k[0] == f)} ({f})"
                             for f in formats)
        raise DataError(f"the part files of {text} are of {len(formats)} formats: {examples}",
                        hint="point data_path at parts of one format, e.g. a glob such as "
                        "part-*.parquet", file=text, parameter="data_path")
    compressions = {c for _, c in kinds.values()}
    return Source(text, tuple(parts), formats[0], compressions.pop() if len(compressions) == 1
                  else "mixed")


def open_bytes(path: Path) -> Any:
    """A binary input stream of a file, decompressed as its name says."""
    _, compression = format_of(path)
    return pa.input_stream(str(path), compression=compression or None)


# -- JSON Lines --------------------------------------------------------------------------------

def read_jsonl(path: Path) -> RawTable:
    """A JSON Lines file; nested objects become ``parent.child`` columns."""
    import pyarrow.json as pajson

    try:
        with open_bytes(path) as stream:
            table = pajson.read_json(stream)
    except pa.ArrowInvalid as err:
        raise _json_error(path, err) from err
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    headers = list(table.column_names)
    return RawTable(headers, table.rename_columns([f"c{i}" for i in range(len(headers))]),
                    first_line=1)


def _json_error(path: Path, err: Exception) -> DataError:
    import re

    text = str(err)
    row = re.search(r"row (\d+)", text)
    changed = re.search(r"Column\(/?([^)]*)\) changed from (\w+) to (\w+)", text)
    if changed:
        return DataError(
            f"field '{changed.group(1)}' of JSON Lines file {path} changes type from "
            f"{changed.group(2)} to {changed.group(3)}"
            + (f" on line {int(row.group(1)) + 1}" if row else ""),
            hint="write the field with one type on every line (quote numbers that are codes), "
            "or set feature_roles to 'ignore' it", file=str(path), column=changed.group(1),
            parameter="feature_roles")
    return DataError(f"cannot parse JSON Lines file {path}: {text}",
                     hint="each line must be one JSON object", file=str(path))


# -- Excel -------------------------------------------------------------------------------------

def _choose_sheet(workbook: Any, sheet: str | None, path: Path) -> tuple[str, str]:
    names = list(workbook.sheetnames)
    listed = ", ".join(f"'{n}'" for n in names)
    if sheet:
        if sheet in names:
            return sheet, "the sheet parameter"
        folded = [n for n in names if n.casefold() == sheet.casefold()]
        if folded:
            return folded[0], "the sheet parameter"
        if sheet.isdigit() and 1 <= int(sheet) <= len(names):
            return names[int(sheet) - 1], f"the sheet parameter (sheet number {sheet})"
        raise DataError(f"Excel file {path} has no sheet '{sheet}'; its sheets: {listed}",
                        hint="set the sheet parameter to one of those names (or a 1-based "
                        "number)", file=str(path), parameter="sheet")
    with_data = [n for n in names if _has_data(workbook[n])]
    if len(with_data) > 1:
        raise DataError(f"Excel file {path} has {len(with_data)} sheets with data: "
                        f"{', '.join(repr(n) for n in with_data)}",
                        hint=f"set the sheet parameter to the one to read, e.g. "
                        f"sheet={with_data[0]!r}", file=str(path), parameter="sheet")
    chosen = with_data[0] if with_data else names[0]
    why = "the only sheet" if len(names) == 1 else "the only sheet with data"
    return chosen, why


def _has_data(worksheet: Any) -> bool:
    for row in worksheet.iter_rows(max_row=50, values_only=True):
        if any(v is not None and v != "" for v in row):
            return True
    return False


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value)


def _excel_column(cells: list[Any]) -> pa.Array:
    kinds = {type(v) for v in cells if v is not None and v != ""}
    cells = [None if v == "" else v for v in cells]
    if kinds and kinds <= {bool}:
        return pa.array(cells, pa.bool_())
    if kinds and kinds <= {int}:
        return pa.array(cells, pa.int64())
    if kinds and kinds <= {int, float}:
        return pa.array([None if v is None else float(v) for v in cells], pa.float64())
    if kinds and kinds <= {datetime, date}:
        return pa.array([v if v is None or isinstance(v, datetime) else
                         datetime(v.year, v.month, v.day) for v in cells], pa.timestamp("s"))
    return pa.array([None if v is None else _cell_text(v) for v in cells], pa.string())


def read_xlsx(path: Path, sheet: str | None) -> tuple[RawTable, str, str]:
    """One sheet of an Excel workbook (rows streamed in read-only mode), the sheet's name and
    why it was chosen."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises zipfile, KeyError and its own errors
        raise DataError(f"cannot read Excel file {path}: {err}",
                        hint="save it again from Excel as .xlsx", file=str(path)) from err
    try:
        name, why = _choose_sheet(workbook, sheet, path)
        rows = workbook[name].iter_rows(values_only=True)
        header: list[Any] = []
        header_row = 0
        for row in rows:
            header_row += 1
            if any(v is not None and v != "" for v in row):
                header = list(row)
                break
        while header and (header[-1] is None or header[-1] == ""):
            header.pop()
        width = len(header)
        columns: list[list[Any]] = [[] for _ in range(width)]
        lines = []
        for number, row in enumerate(rows, start=header_row + 1):
            cells = list(row[:width]) + [None] * (width - len(row))
            if all(v is None or v == "" for v in cells):
                continue
            for column, value in zip(columns, cells, strict=True):
                column.append(value)
            lines.append(number)
    finally:
        workbook.close()
    table = pa.table({f"c{i}": _excel_column(c) for i, c in enumerate(columns)})
    return RawTable([_cell_text(h) for h in header], table, lines=lines, where="row"), name, why
