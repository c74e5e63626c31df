"""Request logs read back: TFRecord files of ``tensorflow.serving.PredictionLog`` (what TF
Serving's ``logging_config`` and the local server write) into the table form of a serving data
file, one row per logged instance.

The one reader of request logs: ``workbench monitor`` (:mod:`workbench.serving.monitor`) and
stage 01's ``serving_data_path`` (:mod:`workbench.data.stage`) both call
:func:`read_request_logs`, so both say the same about an empty folder, a file whose last record
is cut short (a file still being written, a killed writer: the partial record is skipped,
counted and said) and logs of another model (which model they are of, which was expected).

Decoding is vectorised: a file's records are located by their TFRecord framing, then a chunk of
predict logs is turned into columns at once (:mod:`workbench.data.predictlog_columns`, on the
NumPy wire-format parser of :mod:`workbench.data.wire`). Protobuf in Python took about 17 s
per million requests here, TensorFlow's ``tf.io.decode_proto`` about 16 s (it copies every
nested message into a string tensor); the vectorised path takes a few seconds. A chunk it does
not read — classify/regress logs (their ``tf.Example`` inputs), 0-d or multi-column inputs,
varint-packed integers, one-value broadcasts, malformed bytes — is decoded record by record
with the protobuf classes here, which define the result; a test compares both paths.

A closed file may have ``<file>.parquet`` beside it (written by the server: the same inputs, one
row per instance). It is used when its recorded size matches the file's, never instead of a
file that changed.
"""

from __future__ import annotations

import collections
import logging
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.data.predictlog_columns import is_prediction_log, predict_columns, value_counts
from workbench.data.wire import Irregular
from workbench.errors import DataError

__all__ = ["INDEX_SUFFIX", "SUFFIX", "RequestLog", "index_path", "is_request_log",
           "log_files", "read_request_logs", "rows_of"]

log = logging.getLogger(__name__)

SUFFIX = ".tfrecord"
INDEX_SUFFIX = ".parquet"
CHUNK_RECORDS = 1 << 16  # records decoded together (bounds the gather's memory)

_CUT = ("{name}: the last record is cut short after {records} records (file still being "
        "written, or the writer was killed); skipped it")


@dataclass
class RequestLog:
    """The logged instances of a period: a table of the inputs (one row per instance, plus
    ``__model``, ``__version``, ``__signature``, ``__timestamp``) and what the reader had to
    say about the files."""

    table: pa.Table
    files: list[Path]
    records: int
    notes: list[str] = field(default_factory=list)
    skipped: int = 0  # records skipped: cut short or not a PredictionLog
    # model: its records left out (instances, for files read from their Parquet index)
    other_models: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.table.num_rows

    def features(self) -> pa.Table:
        """The logged inputs only (the table form of a serving data file)."""
        return self.table.drop_columns([c for c in self.table.column_names
                                        if c.startswith("__")])


def index_path(p: Path) -> Path:
    return p.with_name(p.name + INDEX_SUFFIX)


def log_files(prefix_or_folder: str | os.PathLike[str]) -> list[Path]:
    """The TFRecord log files of a prefix (``…/requests/fraud``) or of a folder."""
    p = Path(prefix_or_folder)
    if p.is_dir():
        return sorted(q for q in p.rglob(f"*{SUFFIX}") if q.is_file())
    if p.is_file() and p.name.endswith(SUFFIX):
        return [p]
    return sorted(q for q in p.parent.glob(f"{p.name}-*{SUFFIX}") if q.is_file())


def rows_of(arr: np.ndarray, n: int) -> list[Any] | np.ndarray | None:
    """One value (or list) per instance, or None when the array is not batched by ``n``."""
    arr = np.asarray(arr)
    if arr.ndim == 0 or arr.shape[0] != n:
        return None
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.dtype == object:
        flat = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v
                for v in arr.reshape(-1)]
        return (flat if arr.ndim == 1 else
                [flat[i * (len(flat) // n):(i + 1) * (len(flat) // n)] for i in range(n)])
    return arr if arr.ndim == 1 else [list(r) for r in arr.reshape(n, -1)]


# -- recognising request logs --------------------------------------------------------------------

def is_request_log(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` (a folder or a file) holds request logs: its first complete TFRecord
    record is a ``PredictionLog`` with a log type (a ``tf.train.Example`` has none), or, in a
    folder, its only files are TFRecord files without a complete record yet (just opened)."""
    p = Path(path)
    files = log_files(p) if p.is_dir() else ([p] if p.is_file() else [])
    for f in files:
        record = _first_record(f)
        if record is not None:
            return is_prediction_log(record)
    if p.is_dir() and files:
        return all(q in files or q.name.endswith(INDEX_SUFFIX)
                   for q in p.rglob("*") if q.is_file() and not q.name.startswith("."))
    return False


def _first_record(path: Path) -> bytes | None:
    """The first complete record of a TFRecord file (only its bytes are read), or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12:
                return None
            (length,) = struct.unpack_from("<Q", head)
            if length > os.fstat(fh.fileno()).st_size:
                return None  # not a TFRecord length
            record = fh.read(length)
            return record if len(record) == length and len(fh.read(4)) == 4 else None
    except OSError:
        return None


# -- reading -------------------------------------------------------------------------------------

def read_request_logs(where: str | os.PathLike[str], *, model: str | None = None,
                      since: float | None = None, until: float | None = None,
                      model_fix: str = "--model {}") -> RequestLog:
    """The logged instances under ``where`` (a ``filename_prefix``, a folder or a file), of
    ``model`` when given, logged at or after ``since`` (Unix seconds) and before ``until``.
    ``model_fix`` is how the caller's user names a model (``--model {}`` for the CLI,
    ``serving_model={}`` for stage 01), for the message about logs of another model."""
    files = log_files(where)
    notes: list[str] = []
    if until is not None or since is not None:
        files = [p for p in files if _in_period(p, since, until)]
    if not files:
        raise DataError(f"no request log files under {where}"
                        + (" for the period asked" if since or until else ""),
                        hint="turn logging on with logging_config in models.config "
                             "(workbench monitor enable), send traffic, then look again",
                        file=str(where))
    tables: list[pa.Table] = []
    records = skipped = 0
    other: collections.Counter[str] = collections.Counter()
    for p in files:
        got = _from_index(p, model, since, other)
        if got is not None:
            table, n = got
        else:
            table, n, s = _decode_file(p, model, since, notes, other)
            skipped += s
        records += n
        if table is not None and table.num_rows:
            tables.append(table)
    if other:
        notes.append(f"{sum(other.values()):,} logged requests or instances of models "
                     f"other than '{model}' were left out ({_models(other)})")
    if not tables:
        of = (f"; they are of {_models(other)}, not of '{model}'" if other and model else "")
        raise DataError(f"the request logs under {where} hold no requests"
                        + (f" of model '{model}'" if model else "")
                        + (" in the period asked" if since or until else "") + of,
                        hint=(f"name the model they are of ({model_fix.format(other.most_common(1)[0][0])})"
                              f" or point at the logs of '{model}'" if other and model else
                              "check the model, the period, and that the model logs requests"),
                        file=str(where))
    table = pa.concat_tables(tables, promote_options="permissive")
    if until is not None:
        table = table.filter(pc.less(table["__timestamp"], int(until)))
    return RequestLog(table, files, records, notes, skipped, dict(other))


def _models(counts: collections.Counter[str]) -> str:
    shown = ", ".join(f"'{m}'" for m, _ in counts.most_common(3))
    more = len(counts) - 3
    return f"model{'s' if len(counts) > 1 else ''} {shown}" + (f" and {more} more"
                                                              if more > 0 else "")


def _in_period(path: Path, since: float | None, until: float | None) -> bool:
    """Whether a file may hold records logged at or after ``since``: not when it was last
    written before then (records carry their time; a replay may log times before the file's
    name, so the name does not bound ``until``)."""
    return not (since is not None and path.stat().st_mtime < since)


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _from_index(path: Path, model: str | None, since: float | None,
                other: collections.Counter[str]) -> tuple[pa.Table, int] | None:
    import pyarrow.parquet as pq

    index = index_path(path)
    if not index.is_file():
        return None
    try:
        meta = pq.read_schema(index).metadata or {}
        if int(meta.get(b"tfrecord_bytes", b"-1")) != _size(path):
            return None
        table = pq.read_table(index)
    except (OSError, ValueError, pa.ArrowInvalid):
        return None
    records = int(meta.get(b"records", b"0"))
    if model:
        mine = pc.equal(table["__model"], model)
        left = table.filter(pc.invert(mine))
        if left.num_rows:
            for m, n in zip(*value_counts(left["__model"]), strict=True):
                other[m] += n
        table = table.filter(mine)
    if since is not None:
        table = table.filter(pc.greater_equal(table["__timestamp"], int(since)))
    return table, records


def _framing(data: bytes) -> tuple[np.ndarray, bool]:
    """(start, end) of each complete record's payload (an n x 2 array), and whether the last
    record is cut short (TFRecord framing: length uint64, its CRC, payload, the payload's
    CRC)."""
    unpack = struct.Struct("<Q").unpack_from
    heads: list[int] = []
    append = heads.append
    pos, size = 0, len(data)
    last = size - 12
    while pos <= last:
        end = pos + unpack(data, pos)[0] + 16
        if end > size:
            break
        append(pos)
        pos = end
    starts = np.array(heads, dtype=np.int64)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - 4
    if starts.size:
        ends[-1] = pos - 4
    return np.stack([starts + 12, ends], axis=1), pos < size


def _decode_file(path: Path, model: str | None, since: float | None, notes: list[str],
                 other: collections.Counter[str]) -> tuple[pa.Table | None, int, int]:
    """The table of a file's records (of ``model``, since ``since``), the number of those
    records, and of the records skipped."""
    data = path.read_bytes()
    frames, cut = _framing(data)
    skipped = 0
    if cut:
        notes.append(_CUT.format(name=path.name, records=len(frames)))
        skipped += 1
    buf = np.frombuffer(data, dtype=np.uint8)
    tables: list[pa.Table] = []
    kept = 0
    for first in range(0, len(frames), CHUNK_RECORDS):
        chunk = frames[first:first + CHUNK_RECORDS]
        try:
            table, n = predict_columns(buf, chunk, model, since, other)
        except (Irregular, IndexError) as why:
            log.debug("%s: records %d+ decoded one by one (%s)", path.name, first, why)
            table, n, s = _decode_records(path, [data[a:b] for a, b in chunk.tolist()],
                                          first, model, since, notes, other)
            skipped += s
        kept += n
        if table is not None and table.num_rows:
            tables.append(table)
    if not tables:
        return None, kept, skipped
    return pa.concat_tables(tables, promote_options="permissive"), kept, skipped


# -- the record-by-record path -------------------------------------------------------------------

def _ndarray(tp: Any) -> np.ndarray:
    from tensorflow.core.framework import types_pb2

    shape = [d.size for d in tp.tensor_shape.dim]
    if tp.dtype == types_pb2.DT_STRING:
        flat: np.ndarray = np.array([v.decode("utf-8", "replace") for v in tp.string_val],
                                    dtype=object)
    else:
        np_type = {types_pb2.DT_FLOAT: np.float32, types_pb2.DT_DOUBLE: np.float64,
                   types_pb2.DT_INT64: np.int64, types_pb2.DT_INT32: np.int32,
                   types_pb2.DT_BOOL: np.bool_}.get(tp.dtype)
        if np_type is None:
            raise ValueError(f"dtype {tp.dtype} is not read from request logs")
        if tp.tensor_content:
            flat = np.frombuffer(tp.tensor_content, dtype=np_type)
        else:
            field_name = {np.float32: "float_val", np.float64: "double_val",
                          np.int64: "int64_val", np.int32: "int_val",
                          np.bool_: "bool_val"}[np_type]
            flat = np.array(getattr(tp, field_name), dtype=np_type)
    count = int(np.prod(shape)) if shape else 1
    if len(flat) == 1 and count > 1:  # TF Serving's one-value broadcast
        flat = np.repeat(flat, count)
    return flat.reshape(shape) if shape else flat.reshape(())


def _decode_records(path: Path, records: list[bytes], first: int, model: str | None,
                    since: float | None, notes: list[str], other: collections.Counter[str]
                    ) -> tuple[pa.Table | None, int, int]:
    """Records decoded one by one with the protobuf classes: (table, records kept, records
    skipped)."""
    from tensorflow.core.example import example_pb2  # noqa: F401 - registers Example
    from tensorflow_serving.apis import prediction_log_pb2

    cols: dict[str, list[Any]] = {}
    rows = kept = skipped = 0
    for i, raw in enumerate(records, start=first):
        try:
            entry = prediction_log_pb2.PredictionLog.FromString(raw)
        except Exception:  # noqa: BLE001 - DecodeError; named below
            notes.append(f"{path.name}: record {i} is not a PredictionLog; skipped it")
            skipped += 1
            continue
        spec = entry.log_metadata.model_spec
        if model and spec.name and spec.name != model:
            other[spec.name] += 1
            continue
        if since is not None and entry.log_metadata.timestamp_secs < since:
            continue
        which = entry.WhichOneof("log_type")
        if which == "predict_log":
            inputs = {k: _ndarray(v) for k, v in entry.predict_log.request.inputs.items()}
            sizes = {a.shape[0] for a in inputs.values() if a.ndim}
            n = sizes.pop() if len(sizes) == 1 else 1
            values = {k: rows_of(a, n) for k, a in inputs.items()}
        elif which in ("classify_log", "regress_log"):
            examples = getattr(entry, which).request.input.example_list.examples
            n = len(examples)
            values = _example_columns(examples)
        else:
            continue
        kept += 1
        for k, v in values.items():
            if v is None:
                continue
            col = cols.setdefault(k, [])
            if len(col) < rows:
                col.extend([None] * (rows - len(col)))
            col.extend(list(v))
        for k, v in (("__model", spec.name), ("__version", spec.version.value),
                     ("__signature", spec.signature_name),
                     ("__timestamp", entry.log_metadata.timestamp_secs)):
            cols.setdefault(k, []).extend([v] * n)
        rows += n
    for col in cols.values():
        if len(col) < rows:
            col.extend([None] * (rows - len(col)))
    table = pa.table({k: pa.array(v) for k, v in cols.items()}) if cols else None
    return table, kept, skipped


def _example_columns(examples: Iterable[Any]) -> dict[str, list[Any]]:
    rows = list(examples)
    out: dict[str, list[Any]] = {}
    for i, ex in enumerate(rows):
        for k, feat in ex.features.feature.items():
            kind = feat.WhichOneof("kind")
            vals = list(getattr(feat, kind).value) if kind else []
            if kind == "bytes_list":
                vals = [v.decode("utf-8", "replace") for v in vals]
            col = out.setdefault(k, [None] * len(rows))
            col[i] = vals[0] if len(vals) == 1 else (vals or None)
    return out
