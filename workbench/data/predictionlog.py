"""Request logs read back: TFRecord files of ``tensorflow.serving.PredictionLog`` (what TF
Serving's ``logging_config`` and the local server write) into the table form of a serving data
file, one row per logged instance.

The one reader of request logs: ``workbench monitor`` (:mod:`workbench.serving.monitor`) and
stage 01's ``serving_data_path`` (:mod:`workbench.data.stage`) both call
:func:`read_request_logs`, so both say the same about an empty folder, a file whose last record
is cut short (a file still being written, a killed writer: the partial record is skipped,
counted and said) and logs of another model (which model they are of, which was expected).

Decoding is vectorised. A file's records are located by their TFRecord framing, then every
message layer of a predict log (``PredictionLog`` → ``LogMetadata``/``ModelSpec`` and
``PredictLog`` → ``PredictRequest`` → its ``inputs`` map → ``TensorProto`` → shape) is parsed
for all records of a chunk at once with NumPy, one step per field position, and each input's
values are cut out of the file's bytes in one gather: ``tensor_content`` (and packed
``float_val``/``double_val``) for numbers, ``string_val`` for strings. Protobuf in Python took
about 17 s per million requests here, TensorFlow's ``tf.io.decode_proto`` about 16 s (it copies
every nested message into a string tensor); this path takes a few seconds. A chunk holding
anything else — classify/regress logs (their ``tf.Example`` inputs), 0-d or multi-column
inputs, varint-packed integers, one-value broadcasts, malformed bytes — is decoded record by
record with the protobuf classes, which define the result; a test compares both paths.

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

from workbench.errors import DataError

__all__ = ["INDEX_SUFFIX", "SUFFIX", "RequestLog", "index_path", "is_request_log",
           "log_files", "read_request_logs", "rows_of"]

log = logging.getLogger(__name__)

SUFFIX = ".tfrecord"
INDEX_SUFFIX = ".parquet"
CHUNK_RECORDS = 1 << 16  # records decoded together (bounds the gather's memory)

# field numbers (tensorflow_serving/apis/*.proto, tensorflow/core/framework/*.proto; a test
# checks them against the descriptors)
_LOG_METADATA, _CLASSIFY_LOG, _REGRESS_LOG, _PREDICT_LOG = 1, 2, 3, 6  # PredictionLog
_META_SPEC, _META_TIME = 1, 4  # LogMetadata
_SPEC_NAME, _SPEC_VERSION, _SPEC_SIGNATURE = 1, 2, 3  # ModelSpec (version: Int64Value.value 1)
_PREDICT_REQUEST = 1  # PredictLog
_REQUEST_INPUTS = 2  # PredictRequest (map entries: key 1, value 2)
_T_DTYPE, _T_SHAPE, _T_CONTENT, _T_FLOAT, _T_DOUBLE, _T_STRING = 1, 2, 4, 5, 6, 8
_SHAPE_DIM, _DIM_SIZE = 2, 1
# DataType: the dtypes read from tensor_content
_DT_STRING = 7
_NUMPY = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_}
_PACKED = {_T_FLOAT: 1, _T_DOUBLE: 2}  # packed fixed-width *_val fields and their dtype

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
        try:
            data = f.read_bytes()
        except OSError:
            continue
        frames, _ = _framing(data, limit=1)
        if not frames.size:
            continue
        start, end = frames[0]
        return _is_prediction_log(data[start:end])
    if p.is_dir() and files:
        return all(q in files or q.name.endswith(INDEX_SUFFIX)
                   for q in p.rglob("*") if q.is_file() and not q.name.startswith("."))
    return False


def _is_prediction_log(record: bytes) -> bool:
    """Whether a record parses as a ``PredictionLog`` holding metadata and one log (read
    with the wire-format parser below: no TensorFlow import)."""
    buf = np.frombuffer(record, dtype=np.uint8)
    try:
        top = _fields(buf, np.array([0]), np.array([buf.size]))
        numbers = set((top.tag >> 3).tolist())
        wires = set((top.tag & 7).tolist())
        if wires != {2} or _LOG_METADATA not in numbers or not numbers - {_LOG_METADATA} \
                or not numbers <= {_LOG_METADATA, *range(_CLASSIFY_LOG, 8)}:
            return False
        meta = top.of(_LOG_METADATA)
        inner = _fields(buf, meta.start[:1], meta.end[:1])
    except _Irregular:
        return False
    return bool(np.any(inner.tag == (_META_SPEC << 3 | 2)))


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
            for m, n in zip(*_value_counts(left["__model"]), strict=True):
                other[m] += n
        table = table.filter(mine)
    if since is not None:
        table = table.filter(pc.greater_equal(table["__timestamp"], int(since)))
    return table, records


def _value_counts(column: pa.ChunkedArray) -> tuple[list[str], list[int]]:
    counts = pc.value_counts(column)
    return counts.field("values").to_pylist(), counts.field("counts").to_pylist()


def _framing(data: bytes, limit: int | None = None) -> tuple[np.ndarray, bool]:
    """(start, end) of each complete record's payload (an n x 2 array), and whether the last
    record is cut short (TFRecord framing: length uint64, its CRC, payload, the payload's
    CRC)."""
    unpack = struct.Struct("<Q").unpack_from
    heads: list[int] = []
    append = heads.append
    pos, size = 0, len(data)
    last = size - 12
    count = limit if limit is not None else size
    while pos <= last and count:
        end = pos + unpack(data, pos)[0] + 16
        if end > size:
            break
        append(pos)
        pos = end
        count -= 1
    cut = pos < size and (limit is None or count > 0)
    starts = np.array(heads, dtype=np.int64)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - 4
    if starts.size:
        ends[-1] = pos - 4
    return np.stack([starts + 12, ends], axis=1), cut


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
            table, n = _decode_vectorised(buf, chunk, model, since, other)
        except (_Irregular, IndexError) as why:
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


# -- the vectorised path ---------------------------------------------------------------------------

class _Irregular(Exception):
    """A chunk the vectorised path does not read: decode it record by record."""


def _varint(buf: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The varints starting at ``pos`` (int64 array) and the positions after them."""
    byte = buf[pos]  # IndexError past the buffer: the caller decodes record by record
    high = byte >= 0x80
    if not high.any():  # the common case: every varint is one byte
        return byte.astype(np.int64), pos + 1
    more = np.flatnonzero(high)
    value = (byte & 0x7F).astype(np.uint64)
    after = pos + 1
    shift = 7
    while more.size:
        if shift > 63:
            raise _Irregular("a varint longer than 10 bytes")
        at = after[more]
        byte = buf[at]
        value[more] |= (byte & 0x7F).astype(np.uint64) << np.uint64(shift)
        after[more] = at + 1
        more = more[byte >= 0x80]
        shift += 7
    return value.astype(np.int64), after


@dataclass
class _Fields:
    """The fields of a layer of messages: for each, the message it is in, its position in
    the message (``step``), its tag (number << 3 | wire type), and its payload's byte range
    [start, end) — for a varint (wire type 0) ``start`` is the value. They are ordered by
    ``step``, then by message."""

    msg: np.ndarray
    step: np.ndarray
    tag: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @property
    def value(self) -> np.ndarray:
        return self.start

    def of(self, number: int, wire: int = 2) -> _Fields:
        keep = self.tag == (number << 3 | wire)
        return _Fields(*(a[keep] for a in (self.msg, self.step, self.tag, self.start,
                                           self.end)))

    def others(self, numbers: Iterable[int]) -> np.ndarray:
        return ~np.isin(self.tag >> 3, list(numbers))


def _fields(buf: np.ndarray, start: np.ndarray, end: np.ndarray) -> _Fields:
    """Parse every message [start, end) of a layer, all messages one field position at a
    time."""
    cursor = start.astype(np.int64, copy=True)
    active = np.flatnonzero(cursor < end)
    parts = []
    while active.size:
        full = active.size == cursor.size
        tag, pos = _varint(buf, cursor if full else cursor[active])
        wire = tag & 7
        if np.all(wire == 2):  # a layer of messages and strings: no masks
            length, s = _varint(buf, pos)
            e = s + length
        else:
            if np.any((wire == 3) | (wire == 4) | (wire > 5)):
                raise _Irregular("a group or an unknown wire type")
            s = pos.copy()
            e = pos.copy()
            w0 = np.flatnonzero(wire == 0)
            if w0.size:
                s[w0], e[w0] = _varint(buf, pos[w0])
            w2 = np.flatnonzero(wire == 2)
            if w2.size:
                length, s[w2] = _varint(buf, pos[w2])
                e[w2] = s[w2] + length
            e[wire == 1] += 8
            e[wire == 5] += 4
        limit = end if full else end[active]
        if np.any(e > limit):
            raise _Irregular("a field runs past its message")
        parts.append((active, np.full(active.size, len(parts), np.int32),
                      tag.astype(np.int32), s, e))
        if full:
            cursor = e.copy()  # e is kept in parts: never written through cursor
        else:
            cursor[active] = e
        active = active[e < limit]
    if not parts:
        empty = np.zeros(0, np.int64)
        return _Fields(empty, empty.astype(np.int32), empty.astype(np.int32), empty, empty)
    return _Fields(*(np.concatenate(col) for col in zip(*parts, strict=True)))


def _entries(buf: np.ndarray, start: np.ndarray, end: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Map entries laid out as protobuf writes them — the key (field 1, under 128 bytes)
    then the value (field 2), nothing else — read without the general parser: (key start,
    key end, value start, value end), or None when any entry is laid out otherwise."""
    if not start.size or int(start.max()) + 2 > buf.size:
        return None
    if np.any(buf[start] != 0x0A):
        return None
    klen = buf[start + 1].astype(np.int64)
    if np.any(klen >= 0x80):
        return None
    k_start = start + 2
    k_end = k_start + klen
    if np.any(k_end + 2 > end) or np.any(buf[k_end] != 0x12):
        return None
    vlen, t_start = _varint(buf, k_end + 1)
    t_end = t_start + vlen
    if np.any(t_end != end):
        return None
    return k_start, k_end, t_start, t_end


def _one(fields: _Fields, messages: int, number: int, wire: int = 2
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The last occurrence (proto semantics for a singular field) of a field in each message:
    (present, start, end) per message."""
    got = fields.of(number, wire)
    if got.msg.size and int(np.bincount(got.msg).max()) > 1:
        raise _Irregular("a singular field given twice")
    present = np.zeros(messages, bool)
    start = np.zeros(messages, np.int64)
    end = np.zeros(messages, np.int64)
    present[got.msg] = True
    start[got.msg] = got.start
    end[got.msg] = got.end
    return present, start, end


def _gather(buf: np.ndarray, start: np.ndarray, end: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of the ranges, concatenated, and their offsets."""
    lengths = end - start
    offsets = np.zeros(lengths.size + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    if lengths.size and np.all(lengths == lengths[0]):
        width = int(lengths[0])
        if width in (1, 2, 4, 8) and int(start.max()) + width <= buf.size:
            return _words(buf, width)[start].view(np.uint8), offsets
        return _rows(buf, start, width).reshape(-1), offsets
    if start.size and int(lengths.max()) <= 8 and int(start.max()) + 8 <= buf.size:
        # short strings (country codes, channels): one 8-byte load each, the bytes kept
        keep = np.arange(8) < lengths[:, None]
        return _words(buf, 8)[start].view(np.uint8).reshape(-1, 8)[keep], offsets
    idx = np.repeat(start - offsets[:-1], lengths) + np.arange(total)
    return buf[idx], offsets


def _words(buf: np.ndarray, width: int) -> np.ndarray:
    """``buf`` as little-endian unsigned integers of ``width`` bytes starting at every byte
    (a view: reading one is an unaligned load)."""
    return np.ndarray(shape=(buf.size - width + 1,), dtype=f"<u{width}", buffer=buf,
                      strides=(1,))


def _rows(buf: np.ndarray, start: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` bytes at each start, one row each (a row-wise copy out of a sliding
    window view: no index array per byte)."""
    if width == 0 or not start.size:
        return np.zeros((start.size, width), np.uint8)
    if int(start.max()) + width > buf.size:
        raise _Irregular("a field runs past the file")
    return np.lib.stride_tricks.sliding_window_view(buf, width)[start]


def _text(buf: np.ndarray, start: np.ndarray, end: np.ndarray) -> pa.Array:
    """Strings of the ranges; one repeated value when every range holds the same bytes (a
    model name, a signature)."""
    if start.size and np.all(end - start == end[0] - start[0]):
        first = buf[start[0]:end[0]].tobytes()
        if _same_head(buf, start, end, first):
            try:
                return pa.repeat(pa.scalar(first.decode("utf-8"), pa.string()), start.size)
            except UnicodeDecodeError as err:
                raise _Irregular("text that is not UTF-8") from err
    return _strings(buf, start, end)


def _strings(buf: np.ndarray, start: np.ndarray, end: np.ndarray) -> pa.Array:
    data, offsets = _gather(buf, start, end)
    if offsets[-1] >= 1 << 31:
        raise _Irregular("more than 2 GB of text in one chunk")
    arr = pa.StringArray.from_buffers(len(start), pa.py_buffer(offsets.astype(np.int32)),
                                      pa.py_buffer(data))
    try:
        arr.validate(full=True)
    except pa.ArrowInvalid as err:
        raise _Irregular("text that is not UTF-8") from err
    return arr


def _decode_vectorised(buf: np.ndarray, bounds: np.ndarray, model: str | None,
                       since: float | None, other: collections.Counter[str]
                       ) -> tuple[pa.Table | None, int]:
    records = len(bounds)
    top = _fields(buf, bounds[:, 0], bounds[:, 1])
    if np.any(np.isin(top.tag >> 3, (_CLASSIFY_LOG, _REGRESS_LOG))):
        raise _Irregular("classify or regress logs")
    has_meta, m_start, m_end = _one(top, records, _LOG_METADATA)
    is_predict, p_start, p_end = _one(top, records, _PREDICT_LOG)
    if not np.all(is_predict & has_meta):
        raise _Irregular("records that are not predict logs with metadata")
    meta = _fields(buf, m_start, m_end)
    _, s_start, s_end = _one(meta, records, _META_SPEC)
    stamps = np.zeros(records, np.int64)
    got = meta.of(_META_TIME, 0)
    stamps[got.msg] = got.value
    spec = _fields(buf, s_start, s_end)
    names = _text(buf, *_one(spec, records, _SPEC_NAME)[1:])
    signatures = _text(buf, *_one(spec, records, _SPEC_SIGNATURE)[1:])
    has_version, v_start, v_end = _one(spec, records, _SPEC_VERSION)
    versions = np.zeros(records, np.int64)
    if has_version.any():
        wrapped = _fields(buf, v_start, v_end).of(1, 0)
        versions[wrapped.msg] = wrapped.value

    keep = np.ones(records, bool)
    if model:
        named = pc.fill_null(pc.not_equal(names, ""), False).to_numpy(zero_copy_only=False)
        mine = pc.equal(names, model).to_numpy(zero_copy_only=False)
        left = named & ~mine
        if left.any():
            for m, n in zip(*_value_counts(pa.chunked_array([names.filter(pa.array(left))])),
                            strict=True):
                other[m] += n
        keep &= ~left
    if since is not None:
        keep &= stamps >= int(since)
    rec = np.flatnonzero(keep)
    if not rec.size:
        return None, 0

    plog = _fields(buf, p_start[rec], p_end[rec])
    _, r_start, r_end = _one(plog, rec.size, _PREDICT_REQUEST)
    request = _fields(buf, r_start, r_end).of(_REQUEST_INPUTS)
    got_entries = _entries(buf, request.start, request.end)
    if got_entries is None:
        entries = _fields(buf, request.start, request.end)
        key_present, k_start, k_end = _one(entries, request.msg.size, 1)
        has_value, t_start, t_end = _one(entries, request.msg.size, 2)
        if not np.all(key_present & has_value):
            raise _Irregular("an input without a name or a tensor")
    else:
        k_start, k_end, t_start, t_end = got_entries
    keys = _strings(buf, k_start, k_end).dictionary_encode()
    key_of = keys.indices.to_numpy(zero_copy_only=False)
    key_names = keys.dictionary.to_pylist()
    owner = request.msg  # the (kept) record of each input

    got_alike = _inputs_alike(buf, t_start, t_end, key_of, key_names, owner, rec.size)
    columns, n = got_alike if got_alike is not None else _inputs(
        buf, t_start, t_end, key_of, key_names, owner, rec.size)

    rep = np.repeat(rec, n)
    columns["__model"] = names.take(pa.array(rep))
    columns["__version"] = pa.array(versions[rep])
    columns["__signature"] = signatures.take(pa.array(rep))
    columns["__timestamp"] = pa.array(stamps[rep])
    return pa.table(columns), int(rec.size)


def _inputs(buf: np.ndarray, t_start: np.ndarray, t_end: np.ndarray, key_of: np.ndarray,
            key_names: list[str], owner: np.ndarray, records: int
            ) -> tuple[dict[str, pa.Array], np.ndarray]:
    """The input columns, every ``TensorProto`` parsed field by field, and the instances of
    each record."""
    tensors = _fields(buf, t_start, t_end)
    ntensors = t_start.size
    known = (_T_DTYPE, _T_SHAPE, _T_CONTENT, _T_FLOAT, _T_DOUBLE, _T_STRING)
    if np.any(tensors.others(known)):
        raise _Irregular("tensor fields other than dtype, shape, content, floats, strings")
    dtype = np.zeros(ntensors, np.int64)
    got = tensors.of(_T_DTYPE, 0)
    dtype[got.msg] = got.value
    _, sh_start, sh_end = _one(tensors, ntensors, _T_SHAPE)
    dims = _fields(buf, sh_start, sh_end)
    if np.any(dims.others((_SHAPE_DIM,))):
        raise _Irregular("a shape of unknown rank")
    dims = dims.of(_SHAPE_DIM)
    sizes = _fields(buf, dims.start, dims.end)
    if np.any(sizes.others((_DIM_SIZE,))):
        raise _Irregular("named dimensions")
    dim_size = np.zeros(dims.msg.size, np.int64)
    got = sizes.of(_DIM_SIZE, 0)
    dim_size[got.msg] = got.value
    rank = np.bincount(dims.msg, minlength=ntensors)
    first = np.zeros(ntensors, np.int64)
    second = np.ones(ntensors, np.int64)
    first[dims.msg[dims.step == 0]] = dim_size[dims.step == 0]
    second[dims.msg[dims.step == 1]] = dim_size[dims.step == 1]
    if np.any((rank < 1) | (rank > 2) | ((rank == 2) & (second != 1))):
        raise _Irregular("inputs that are not one value per instance")

    # instances per record: the first dimension, the same for every input of a record
    n = np.full(records, -1, np.int64)
    n[owner] = first
    if np.any(n[owner] != first) or np.any(n < 0):
        raise _Irregular("inputs of one request with different batch sizes, or none")
    row_start = np.zeros(records + 1, np.int64)
    np.cumsum(n, out=row_start[1:])
    rows = int(row_start[-1])

    columns: dict[str, pa.Array] = {}
    content = tensors.of(_T_CONTENT)
    strings = tensors.of(_T_STRING)
    packed = {number: tensors.of(number) for number in _PACKED}
    for k, name in enumerate(key_names):
        mine_t = np.flatnonzero(key_of == k)
        recs = owner[mine_t]
        if recs.size and int(np.bincount(recs).max()) > 1:
            raise _Irregular(f"input '{name}' twice in one request")
        order = np.argsort(recs, kind="stable")
        mine_t, recs = mine_t[order], recs[order]
        kinds = dtype[mine_t]
        kind = int(kinds[0])
        if np.any(kinds != kind):
            raise _Irregular(f"input '{name}' logged with several dtypes")
        want = n[recs]
        rank_of = np.full(ntensors, -1, np.int64)
        rank_of[mine_t] = np.arange(mine_t.size)
        if kind == _DT_STRING:
            values = _string_values(buf, strings, rank_of, want)
        elif kind in _NUMPY:
            values = _numeric_values(buf, content, packed, rank_of, want, kind)
        else:
            raise _Irregular(f"input '{name}' of dtype {kind}")
        columns[name] = _spread(values, recs, want, row_start, rows)

    return columns, n


def _inputs_alike(buf: np.ndarray, t_start: np.ndarray, t_end: np.ndarray,
                  key_of: np.ndarray, key_names: list[str], owner: np.ndarray, records: int
                  ) -> tuple[dict[str, pa.Array], np.ndarray] | None:
    """The input columns when every tensor of an input is laid out like its first one (the
    same bytes up to its values: dtype, shape, field order): the first is parsed by protobuf,
    the others are compared with it and their values cut out. None when any differs."""
    columns: dict[str, pa.Array] = {}
    batch = None
    for k, name in enumerate(key_names):
        mine = np.flatnonzero(key_of == k)
        recs = owner[mine]
        if recs.size != records or np.any(recs != np.arange(records)):
            return None  # not one tensor per record, in record order
        start, end = t_start[mine], t_end[mine]
        layout = _layout(buf, int(start[0]), int(end[0]))
        if layout is None:
            return None
        dtype, dims, header, tag = layout
        if len(dims) > 2 or (len(dims) == 2 and dims[1] != 1):
            return None
        if batch is None:
            batch = dims[0]
        if dims[0] != batch:
            return None
        if tag == _T_STRING and dtype == _DT_STRING and batch == 1:
            if not _same_head(buf, start, end, header, len(header) + 1):
                return None
            length, at = _varint(buf, start + len(header))
            if np.any(at + length != end):
                return None
            columns[name] = _strings(buf, at, end)
        elif tag == _T_CONTENT and dtype in _NUMPY:
            np_type = np.dtype(_NUMPY[dtype]).newbyteorder("<")
            width = int(end[0] - start[0]) - len(header)
            if width != batch * np_type.itemsize:
                return None
            if np.any(end - start != end[0] - start[0]) or not _same_head(buf, start, end,
                                                                         header):
                return None
            data, _ = _gather(buf, end - width, end)
            columns[name] = pa.array(data.view(np_type).astype(np_type.newbyteorder("="),
                                                               copy=False))
        else:
            return None
    return columns, np.full(records, batch or 0, np.int64)


def _layout(buf: np.ndarray, start: int, end: int
            ) -> tuple[int, list[int], bytes, int] | None:
    """How one ``TensorProto`` is laid out: dtype, dims, the bytes before its values (up to
    and including the tag of its one ``string_val``, or up to the payload of its
    ``tensor_content``), and that field's number; None for any other layout."""
    one = np.array([start]), np.array([end])
    fields = _fields(buf, *one)
    tags = fields.tag.tolist()
    if len(tags) < 2 or tags[-1] not in (_T_CONTENT << 3 | 2, _T_STRING << 3 | 2):
        return None
    if sorted(tags[:-1]) != sorted({_T_DTYPE << 3, _T_SHAPE << 3 | 2} & set(tags[:-1])) \
            or _T_SHAPE << 3 | 2 not in tags:
        return None  # fields other than dtype and shape, or one twice
    dtype = int(fields.start[tags.index(_T_DTYPE << 3)]) if _T_DTYPE << 3 in tags else 0
    at = tags.index(_T_SHAPE << 3 | 2)
    shape = _fields(buf, fields.start[at:at + 1], fields.end[at:at + 1])
    if np.any(shape.tag != (_SHAPE_DIM << 3 | 2)) or not shape.tag.size:
        return None
    sizes = _fields(buf, shape.start, shape.end)
    if np.any(sizes.tag != (_DIM_SIZE << 3)) or sizes.tag.size != shape.tag.size:
        return None
    dims = sizes.start[np.argsort(sizes.msg, kind="stable")].tolist()
    payload = int(fields.start[-1])
    if tags[-1] == _T_CONTENT << 3 | 2:
        return dtype, dims, buf[start:payload].tobytes(), _T_CONTENT
    length = int(fields.end[-1]) - payload
    tag_at = payload - len(_varint_bytes(length)) - 1
    return dtype, dims, buf[start:tag_at + 1].tobytes(), _T_STRING


def _varint_bytes(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _same_head(buf: np.ndarray, start: np.ndarray, end: np.ndarray, head: bytes,
               least: int | None = None) -> bool:
    """Whether every range begins with ``head`` (and is at least ``least`` bytes long)."""
    if np.any(end - start < (least or len(head))):
        return False
    size = len(head)
    if size >= 4 and int(start.max()) + size <= buf.size:
        width = 8 if size >= 8 else 4
        words = _words(buf, width)
        at = list(range(0, size - width + 1, width))
        if at[-1] != size - width:
            at.append(size - width)  # the last word overlaps the one before
        return all(not np.any(words[start + o] != int.from_bytes(head[o:o + width], "little"))
                   for o in at)
    step = 1 << 16
    for i in range(0, start.size, step):
        got = _rows(buf, start[i:i + step], len(head))
        if got.tobytes() != head * got.shape[0]:
            return False
    return True


def _string_values(buf: np.ndarray, strings: _Fields, rank_of: np.ndarray,
                   want: np.ndarray) -> pa.Array:
    """The string values of the tensors ranked by ``rank_of`` (tensor: its place in the
    column, -1: another input's), each tensor's values in their order."""
    of = rank_of[strings.msg]
    sel = np.flatnonzero(of >= 0)
    if np.any(np.bincount(of[sel], minlength=want.size) != want):
        raise _Irregular("a string input whose values do not match its shape")
    sel = sel[np.argsort(of[sel], kind="stable")]  # by tensor, each in its own order
    return _strings(buf, strings.start[sel], strings.end[sel])


def _numeric_values(buf: np.ndarray, content: _Fields, packed: dict[int, _Fields],
                    rank_of: np.ndarray, want: np.ndarray, kind: int) -> pa.Array:
    """The values of the numeric tensors ranked by ``rank_of``: ``tensor_content`` or a
    packed fixed-width ``*_val`` field, little-endian as TensorFlow writes them."""
    np_type = np.dtype(_NUMPY[kind]).newbyteorder("<")
    sources = [content] + [f for number, f in packed.items() if _PACKED[number] == kind]
    start = np.zeros(want.size, np.int64)
    end = np.full(want.size, -1, np.int64)
    for src in sources:
        at = rank_of[src.msg]
        hit = at >= 0
        at = at[hit]
        if np.any(end[at] >= 0):
            raise _Irregular("a tensor with its values in two fields")
        start[at] = src.start[hit]
        end[at] = src.end[hit]
    end[end < 0] = start[end < 0]
    if np.any((end - start) != want * np_type.itemsize):
        raise _Irregular("a numeric input whose values do not match its shape")
    data, _ = _gather(buf, start, end)
    return pa.array(data.view(np_type).astype(np_type.newbyteorder("="), copy=False))


def _spread(values: pa.Array, recs: np.ndarray, want: np.ndarray, row_start: np.ndarray,
            rows: int) -> pa.Array:
    """An input's values (of the records ``recs``, ``want`` each) as a column of every row,
    null where a record did not send the input."""
    if int(want.sum()) == rows:
        return values
    index = np.full(rows, -1, np.int64)
    at = np.repeat(row_start[recs], want) + (np.arange(int(want.sum()))
                                             - np.repeat(np.cumsum(want) - want, want))
    index[at] = np.arange(int(want.sum()))
    return values.take(pa.array(index, mask=index < 0))


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
