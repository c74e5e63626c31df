"""Prediction and reject files, written atomically in Parquet, CSV or JSON Lines.

Rows stream into a temporary sibling of the target (``.NAME.*.tmp``) and the file is renamed
into place only when the job finishes, so a reader sees the old file or the complete new one,
never a partial one. Parquet carries the model's version, run id and variant in its key-value
metadata; CSV and JSON Lines have no metadata block, so the same fields go to
``NAME.meta.json`` beside the file (also written for Parquet, with the job summary).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa

from workbench.errors import ParameterError
from workbench.runs.atomic import default_mode

__all__ = ["FORMATS", "TableWriter", "check_output", "format_for", "rejects_path"]

FORMATS = ("parquet", "csv", "jsonl")
_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl",
             ".ndjson": "jsonl"}


def format_for(out: Path, fmt: str | None) -> str:
    """The output format: given, else from the file's suffix."""
    if fmt:
        if fmt not in FORMATS:
            raise ParameterError(f"output format '{fmt}' is not one of {', '.join(FORMATS)}",
                                 hint="e.g. --format parquet", parameter="format")
        return fmt
    found = _SUFFIXES.get(out.suffix.lower())
    if found is None:
        raise ParameterError(f"cannot tell the output format of {out} from its suffix",
                             hint="name it .parquet, .csv or .jsonl, or pass --format",
                             parameter="format")
    return found


def check_output(out: Path) -> None:
    """The folder of ``out`` exists and is writable, and ``out`` is not a folder."""
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise ParameterError(f"the folder of the output {out} does not exist ({folder})",
                             hint=f"create it first (mkdir -p {folder}) or choose another --out",
                             parameter="out")
    if out.is_dir():
        raise ParameterError(f"the output {out} is a folder", hint="give a file name, e.g. "
                             f"{out / 'predictions.parquet'}", parameter="out")
    if not os.access(folder, os.W_OK):
        raise ParameterError(f"the folder {folder} of the output is not writable",
                             hint="choose another --out", parameter="out")


def rejects_path(out: Path, fmt: str) -> Path:
    """``predictions.parquet`` → ``predictions.rejects.parquet``."""
    return out.with_name(f"{out.stem}.rejects.{'parquet' if fmt == 'parquet' else fmt}")


class TableWriter:
    """Appends Arrow tables to one file of ``fmt``; :meth:`commit` renames it into place,
    :meth:`abort` removes it. Writing zero tables still writes a valid empty file."""

    def __init__(self, path: Path, fmt: str, schema: pa.Schema,
                 metadata: dict[str, str] | None = None) -> None:
        self.path = path
        self.fmt = fmt
        self.schema = schema.with_metadata(metadata or {})
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        default_mode(tmp)
        self.tmp = Path(tmp)
        self.rows = 0
        self._writer: Any = None
        self._fh: Any = None
        if fmt == "parquet":
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(str(self.tmp), self.schema, compression="zstd")
        elif fmt == "csv":
            import pyarrow.csv as pacsv

            self._writer = pacsv.CSVWriter(str(self.tmp), self.schema)
        else:
            self._fh = open(self.tmp, "wb")  # noqa: SIM115 - closed in commit/abort

    def write(self, table: pa.Table) -> None:
        table = table.cast(self.schema.remove_metadata()).replace_schema_metadata(
            self.schema.metadata)
        if self.fmt == "jsonl":
            if table.num_rows:
                import polars as pl

                self._fh.write(pl.from_arrow(table).write_ndjson().encode("utf-8"))
        else:
            self._writer.write_table(table)
        self.rows += table.num_rows

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None

    def commit(self) -> Path:
        self._close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)
