"""Request logs as TF Serving writes them: ``PredictionLog`` TFRecord files from a model's
``logging_config``.

``models.config`` may give a model a ``logging_config`` (TF Serving's ``LoggingConfig`` proto):
``sampling_config.sampling_rate`` (0–1) and ``log_collector_config.filename_prefix``. The local
server then logs the sampled requests of that model as ``tensorflow.serving.PredictionLog``
records (``log_metadata`` with model, version, signature and time; ``predict_log`` /
``classify_log`` / ``regress_log`` with request and response) into TFRecord files named
``<filename_prefix>-<UTC time>-<pid>-<n>.tfrecord``.

* A request never waits for the log: it hands its arrays to a bounded queue and a writer thread
  builds and writes the protos. A full queue drops the record and counts it
  (``workbench_request_log_dropped``).
* Files rotate by size and age; the oldest files of a prefix are removed when the prefix holds
  more than its disk budget.
* With ``index=True`` (the server's ``--request_log_index``), when a file is closed the
  writer also writes ``<file>.parquet`` beside it: the logged inputs one row per instance, the
  same values as the records. It is an index for
  :func:`~workbench.data.predictionlog.read_request_logs`, never the source: a file without
  its index — the file still being written, a file TF Serving wrote — is decoded from the
  records. It is off by default: building it costs the server about 4 µs of CPU per logged
  request (a third of the logging's cost), and the reader decodes a million records in a
  few seconds without it.

Reading the logs back is :mod:`workbench.data.predictionlog` (shared by ``workbench monitor``
and stage 01); its names are re-exported here.
"""

from __future__ import annotations

import collections
import functools
import logging
import os
import random
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from workbench.data.predictionlog import (
    SUFFIX,
    RequestLog,
    log_files,
    read_request_logs,
)
from workbench.data.predictionlog import index_path as _index_path
from workbench.data.predictionlog import rows_of as _rows_of
from workbench.data.wire import varint_bytes
from workbench.errors import ConfigError
from workbench.serving.metrics import REQUEST_LOG_DROPPED, REQUEST_LOG_RECORDS, Metrics

__all__ = ["LogTarget", "RequestLog", "RequestLogs", "logging_config", "read_request_logs",
           "targets_of"]

log = logging.getLogger(__name__)

TYPE = "tfrecord"
META_COLUMNS = ("__model", "__version", "__signature", "__timestamp")


# -- configuration -----------------------------------------------------------------------------

def logging_config(filename_prefix: str, sampling_rate: float = 1.0) -> Any:
    """A ``tensorflow.serving.LoggingConfig`` for ``ModelConfig.logging_config``."""
    from tensorflow_serving.config import logging_config_pb2

    if not 0.0 <= sampling_rate <= 1.0:
        raise ConfigError(f"sampling_rate {sampling_rate} is not between 0 and 1",
                          hint="1.0 logs every request, 0.01 one in a hundred")
    cfg = logging_config_pb2.LoggingConfig()
    cfg.log_collector_config.type = TYPE
    cfg.log_collector_config.filename_prefix = str(filename_prefix)
    cfg.sampling_config.sampling_rate = float(sampling_rate)
    return cfg


@dataclass(frozen=True)
class LogTarget:
    model: str
    prefix: Path
    sampling_rate: float


def targets_of(server_config: Any) -> dict[str, LogTarget]:
    """The models of a ``ModelServerConfig`` that log requests, by name."""
    out: dict[str, LogTarget] = {}
    for cfg in server_config.model_config_list.config:
        if not cfg.HasField("logging_config"):
            continue
        lc = cfg.logging_config
        prefix = lc.log_collector_config.filename_prefix
        rate = float(lc.sampling_config.sampling_rate)
        kind = lc.log_collector_config.type
        if not prefix or rate <= 0:
            continue
        if kind not in ("", TYPE):
            log.error("model %s: log_collector_config type '%s' is not known here (only "
                      "'%s'); its requests are not logged", cfg.name, kind, TYPE)
            continue
        out[cfg.name] = LogTarget(cfg.name, Path(prefix), min(rate, 1.0))
    return out


# -- writing -----------------------------------------------------------------------------------

@dataclass
class _Entry:
    kind: str  # predict | classify | regress
    model: str
    version: int
    signature: str
    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    n: int
    timestamp: float


@dataclass
class _File:
    path: Path
    writer: Any
    opened: float
    bytes: int = 0
    records: int = 0
    unflushed: int = 0
    rows: int = 0
    model: str = ""
    batches: list[tuple[Any, ...]] = field(default_factory=list)  # since the last drain
    batch_rows: int = 0
    chunks: list[pa.Table] = field(default_factory=list)  # the index, one table per drain
    examples_only: bool = False
    index_failed: bool = False
    index: bool = True  # build the Parquet index beside the file (RequestLogs(index=...))


class RequestLogs:
    """The server's request logger: :meth:`configure` with each applied config,
    :meth:`offer` every answered request, :meth:`close` at shutdown."""

    def __init__(self, metrics: Metrics | None = None, *, max_file_bytes: int = 64 << 20,
                 max_file_seconds: float = 3600.0, max_total_bytes: int = 1 << 30,
                 queue_size: int = 10_000, flush_every: int = 256,
                 drain_seconds: float = 0.1, index: bool = False) -> None:
        self.metrics = metrics
        self.index = index
        self.max_file_bytes = max_file_bytes
        self.max_file_seconds = max_file_seconds
        self.max_total_bytes = max_total_bytes
        self.flush_every = flush_every
        self._targets: dict[str, LogTarget] = {}
        self.queue_size = queue_size
        self.drain_seconds = drain_seconds
        self._pending: collections.deque[_Entry] = collections.deque()
        self._stop = threading.Event()
        self._offered = self._flushed = 0
        self._files: dict[str, _File] = {}
        self._seq = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._random = random.Random()

    # request path -----------------------------------------------------------------------------
    def configure(self, server_config: Any) -> None:
        targets = targets_of(server_config)
        with self._lock:
            self._targets = targets
            if targets and self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="request-log",
                                                daemon=True)
                self._thread.start()
        for t in targets.values():
            log.info("logging %g of the requests of model %s to %s-*%s", t.sampling_rate,
                     t.model, t.prefix, SUFFIX)

    def offer(self, kind: str, model: str, version: int, signature: str,
              inputs: dict[str, np.ndarray], outputs: dict[str, np.ndarray], n: int, *,
              timestamp: float | None = None) -> None:
        """Log this request if its model logs and it is sampled; never blocks.
        ``timestamp`` (default now) is for replaying traffic of another time."""
        target = self._targets.get(model)
        if target is None or (target.sampling_rate < 1.0
                              and self._random.random() >= target.sampling_rate):
            return
        if len(self._pending) >= self.queue_size:
            self._count(REQUEST_LOG_DROPPED, model)
            return
        # a deque append is atomic and wakes nobody: the writer drains in batches, so a
        # request never hands the GIL to the writer thread
        self._pending.append(_Entry(kind, model, version, signature, inputs, outputs, n,
                                    time.time() if timestamp is None else timestamp))
        self._offered += 1

    def close(self, timeout: float = 30.0) -> None:
        """Write what is pending, close the files (and write their index)."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout)
        self._thread = None

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every offered record is written and flushed to its file."""
        deadline = time.monotonic() + timeout
        target = self._offered
        while self._flushed < target and time.monotonic() < deadline:
            time.sleep(0.01)

    # writer thread ----------------------------------------------------------------------------
    def _count(self, metric: str, model: str, by: float = 1.0) -> None:
        if self.metrics is not None:
            self.metrics.inc(metric, (("model_name", model),), by)

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self.drain_seconds)
            done = 0
            written: collections.Counter[str] = collections.Counter()
            while self._pending:
                entry = self._pending.popleft()
                try:
                    if self._write(entry):
                        written[entry.model] += 1
                except Exception:  # noqa: BLE001 - logging must never take the server down
                    log.exception("request log write failed")
                    self._count(REQUEST_LOG_DROPPED, entry.model)
                done += 1
            for model, n in written.items():  # one metrics update per drain, not per record
                self._count(REQUEST_LOG_RECORDS, model, n)
            self._idle()
            self._flushed += done
            if stopping:
                for model in list(self._files):
                    self._close_file(model)
                return

    def _idle(self) -> None:
        now = time.time()
        for model, f in list(self._files.items()):
            if f.unflushed:
                f.writer.flush()
                f.unflushed = 0
            _compact(f)
            if now - f.opened >= self.max_file_seconds:
                self._close_file(model)

    def _open(self, target: LogTarget) -> _File:
        import tensorflow as tf

        target.prefix.parent.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = Path(f"{target.prefix}-{stamp}-{os.getpid()}-{self._seq:05d}{SUFFIX}")
        return _File(path, tf.io.TFRecordWriter(str(path)), time.time(), model=target.model,
                     index=self.index)

    def _write(self, e: _Entry) -> bool:
        """Write one record; False when its model no longer logs."""
        target = self._targets.get(e.model)
        if target is None:  # logging turned off since the request was offered
            return False
        f = self._files.get(e.model)
        if f is None:
            f = self._files[e.model] = self._open(target)
        record = (encode_predict_log(e, target.sampling_rate) if e.kind == "predict"
                  else prediction_log(e, target.sampling_rate).SerializeToString())
        f.writer.write(record)
        f.bytes += len(record) + 16
        f.records += 1
        f.unflushed += 1
        _append_rows(f, e)
        if f.unflushed >= self.flush_every:
            f.writer.flush()
            f.unflushed = 0
        if f.bytes >= self.max_file_bytes or time.time() - f.opened >= self.max_file_seconds:
            self._close_file(e.model)
            self._enforce_budget(target)
        return True

    def _close_file(self, model: str) -> None:
        f = self._files.pop(model)
        f.writer.close()
        try:
            _write_index(f)
        except Exception:  # noqa: BLE001 - the records are the source; the index is optional
            log.exception("could not write the index of %s", f.path)

    def _enforce_budget(self, target: LogTarget) -> None:
        files = sorted(log_files(target.prefix), key=lambda p: p.name)
        sizes = {p: _size(p) + _size(_index_path(p)) for p in files}
        total = sum(sizes.values())
        for p in files:
            if total <= self.max_total_bytes:
                break
            if any(f.path == p for f in self._files.values()):
                continue
            log.info("request log budget of %d bytes reached: removing %s",
                     self.max_total_bytes, p)
            p.unlink(missing_ok=True)
            _index_path(p).unlink(missing_ok=True)
            total -= sizes[p]


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def prediction_log(e: _Entry, sampling_rate: float = 1.0) -> Any:
    """The ``PredictionLog`` of one answered request."""
    from tensorflow_serving.apis import (
        classification_pb2,
        predict_pb2,
        prediction_log_pb2,
        regression_pb2,
    )

    from workbench.serving.codec import tensor_proto

    out = prediction_log_pb2.PredictionLog()
    meta = out.log_metadata
    meta.model_spec.name = e.model
    meta.model_spec.version.value = e.version
    meta.model_spec.signature_name = e.signature
    meta.sampling_config.sampling_rate = sampling_rate
    meta.saved_model_tags.append("serve")
    meta.timestamp_secs = int(e.timestamp)
    if e.kind == "predict":
        req = predict_pb2.PredictRequest()
        req.model_spec.CopyFrom(meta.model_spec)
        for k, v in e.inputs.items():
            req.inputs[k].CopyFrom(tensor_proto(np.asarray(v)))
        resp = predict_pb2.PredictResponse()
        resp.model_spec.CopyFrom(meta.model_spec)
        for k, v in e.outputs.items():
            resp.outputs[k].CopyFrom(tensor_proto(np.asarray(v)))
        out.predict_log.request.CopyFrom(req)
        out.predict_log.response.CopyFrom(resp)
        return out
    from tensorflow.core.example import example_pb2

    serialized = next(iter(e.inputs.values()))
    examples = [example_pb2.Example.FromString(bytes(s)) for s in serialized]
    if e.kind == "classify":
        from workbench.serving.inference import classifications

        creq = classification_pb2.ClassificationRequest()
        creq.model_spec.CopyFrom(meta.model_spec)
        creq.input.example_list.examples.extend(examples)
        cresp = classification_pb2.ClassificationResponse()
        cresp.model_spec.CopyFrom(meta.model_spec)
        for row in classifications(e.outputs):
            c = cresp.result.classifications.add()
            for label, score in row:
                c.classes.add(label=label, score=score)
        out.classify_log.request.CopyFrom(creq)
        out.classify_log.response.CopyFrom(cresp)
        return out
    from workbench.serving.inference import regressions

    rreq = regression_pb2.RegressionRequest()
    rreq.model_spec.CopyFrom(meta.model_spec)
    rreq.input.example_list.examples.extend(examples)
    rresp = regression_pb2.RegressionResponse()
    rresp.model_spec.CopyFrom(meta.model_spec)
    for value in regressions(e.outputs):
        rresp.result.regressions.add(value=value)
    out.regress_log.request.CopyFrom(rreq)
    out.regress_log.response.CopyFrom(rresp)
    return out


# -- a PredictionLog of a predict request, encoded directly ---------------------------------
# Building the message through the protobuf API costs about 0.5 ms per request here, which the
# writer thread would take from the serving threads (it holds the GIL). The wire format of this
# one shape is written directly instead, and what only depends on a tensor's name, dtype and
# shape (tags, lengths, the TensorProto head: everything of a numeric tensor but its bytes) is
# computed once per shape: a record costs the writer a few microseconds, so logging every
# request takes little from the event loop. A test parses the bytes with the protobuf classes
# and compares them with prediction_log(); another pins the bytes themselves.

_SMALL = [bytes((i,)) for i in range(128)]


def _varint(n: int) -> bytes:
    return _SMALL[n] if n < 128 else varint_bytes(n)


def _len_field(number: int, payload: bytes) -> bytes:
    return _SMALL[number << 3 | 2] + _varint(len(payload)) + payload


@functools.lru_cache(maxsize=1024)
def _tensor_head(dtype: np.dtype, shape: tuple[int, ...]) -> bytes | None:
    """dtype and tensor_shape of a TensorProto (None: a dtype written the slow way)."""
    from workbench.serving.codec import _DTYPE_OF

    dims = b"".join(_len_field(2, b"\x08" + _varint(d) if d else b"") for d in shape)
    if dtype.kind == "O":
        return b"\x08\x07" + _len_field(2, dims)
    code = _DTYPE_OF.get(dtype)
    return None if code is None else b"\x08" + _varint(code) + _len_field(2, dims)


def _map_entry(number: int, key: str, tensor: bytes) -> bytes:
    """One ``map<string, TensorProto>`` entry (field ``number``) holding ``tensor``."""
    return _len_field(number, _len_field(1, key.encode()) + _len_field(2, tensor))


@functools.lru_cache(maxsize=4096)
def _numeric_prefix(number: int, key: str, dtype: np.dtype, shape: tuple[int, ...]
                    ) -> bytes | None:
    """A numeric tensor's map entry up to its ``tensor_content`` bytes, which end it: the
    entry is this prefix + ``arr.tobytes()`` (None: strings or a dtype written the slow way)."""
    head = _tensor_head(dtype, shape)
    if head is None or dtype.kind == "O":
        return None
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    marker = b"\x00" * size
    entry = _map_entry(number, key, head + _len_field(4, marker))
    return entry[:len(entry) - size]


_STRING_TAG = _SMALL[8 << 3 | 2]


def _string_tensor(arr: np.ndarray) -> bytes:
    head = _tensor_head(arr.dtype, arr.shape)
    parts = [head]
    for v in arr.reshape(-1).tolist():
        b = v if isinstance(v, bytes) else str(v).encode()
        parts.append(_STRING_TAG)
        parts.append(_varint(len(b)) if len(b) >= 128 else _SMALL[len(b)])
        parts.append(b)
    return b"".join(parts)


def _tensor(arr: np.ndarray) -> bytes:
    arr = np.asarray(arr)
    if arr.dtype == object:
        return _string_tensor(arr)
    head = _tensor_head(arr.dtype, arr.shape)
    if head is None:
        return _tensor_slow(arr)
    return head + _len_field(4, arr.tobytes())


def _tensor_slow(arr: np.ndarray) -> bytes:
    from workbench.serving.codec import tensor_proto

    return tensor_proto(arr).SerializeToString()


@functools.lru_cache(maxsize=256)
def _spec(model: str, version: int, signature: str) -> bytes:
    return (_len_field(1, model.encode()) + _len_field(2, b"\x08" + _varint(version))
            + _len_field(3, signature.encode()))


def _tensor_map(number: int, arrays: dict[str, np.ndarray]) -> list[bytes]:
    parts: list[bytes] = []
    for k, v in arrays.items():
        if type(v) is not np.ndarray:
            v = np.asarray(v)
        prefix = _numeric_prefix(number, k, v.dtype, v.shape)
        if prefix is not None:
            parts.append(prefix)
            parts.append(v.tobytes())
        else:
            parts.append(_map_entry(number, k, _tensor(v)))
    return parts


@functools.lru_cache(maxsize=64)
def _meta(spec: bytes, sampling_rate: float, seconds: int) -> bytes:
    return _len_field(1, _len_field(1, spec)
                      + _len_field(2, b"\x09" + struct.pack("<d", sampling_rate))
                      + _len_field(3, b"serve") + b"\x20" + _varint(seconds))


def encode_predict_log(e: _Entry, sampling_rate: float = 1.0) -> bytes:
    """The serialized ``PredictionLog`` of an answered predict request."""
    spec = _spec(e.model, e.version, e.signature)
    request = _len_field(1, spec) + b"".join(_tensor_map(2, e.inputs))
    response = b"".join(_tensor_map(1, e.outputs)) + _len_field(2, spec)
    return (_meta(spec, sampling_rate, int(e.timestamp))
            + _len_field(6, _len_field(1, request) + _len_field(2, response)))


def _append_rows(f: _File, e: _Entry) -> None:
    """Keep the request's input arrays for the index until the end of the drain (then
    :func:`_compact` turns them into columns: per request only a list append)."""
    if not f.index:
        return
    if e.kind != "predict":  # tf.Example requests: decoded from the records when read
        f.examples_only = True
        return
    f.batches.append((e.inputs, e.n, e.version, e.signature, int(e.timestamp)))
    f.rows += e.n
    f.batch_rows += e.n


def _compact(f: _File) -> None:
    """The drain's requests as one Arrow table of the index: the requests' own arrays are
    let go at once (kept until the file closed, they held several times the file's size in
    memory, scattered, and every request allocated fresh memory)."""
    batches, rows = f.batches, f.batch_rows
    f.batches, f.batch_rows = [], 0
    if not batches or f.examples_only or f.index_failed:
        return
    try:
        f.chunks.append(_index_table(batches, rows, f.model))
    except Exception:  # noqa: BLE001 - the records are the source; the index is optional
        log.exception("the index of %s cannot be built; readers decode its records", f.path)
        f.index_failed = True
        f.chunks = []


def _index_table(batches: list[tuple[Any, ...]], rows: int, model: str) -> pa.Table:
    names: dict[str, None] = {}
    for inputs, *_ in batches:
        names.update(dict.fromkeys(inputs))
    cols: dict[str, pa.Array] = {}
    for name in names:
        flat = _flat_column(batches, name, rows)
        if flat is not None:
            cols[name] = flat
            continue
        parts: list[Any] = []
        for inputs, n, *_ in batches:
            values = _rows_of(inputs[name], n) if name in inputs else None
            parts.append(values if values is not None else [None] * n)
        cols[name] = _concat(parts, rows)
    counts = np.array([b[1] for b in batches])
    cols["__model"] = pa.array(np.repeat(np.array([model], dtype=object), rows))
    cols["__version"] = pa.array(np.repeat(np.array([b[2] for b in batches]), counts))
    cols["__signature"] = pa.array(np.repeat(np.array([b[3] for b in batches],
                                                      dtype=object), counts))
    cols["__timestamp"] = pa.array(np.repeat(np.array([b[4] for b in batches]), counts))
    return pa.table(cols)


def _flat_column(batches: list[tuple[Any, ...]], name: str, rows: int) -> pa.Array | None:
    """The common case in one concatenation: every request has the input as one value per
    instance (shape ``[n]`` or ``[n, 1]``). None: the general path decides."""
    try:
        arrays = [b[0][name] for b in batches]
        flat = np.concatenate(arrays)
    except (KeyError, ValueError, TypeError):  # missing in a request, scalars, ragged ranks
        return None
    if flat.shape[0] != rows or not (flat.ndim == 1 or flat.shape[1:] == (1,)):
        return None
    if [len(a) for a in arrays] != [b[1] for b in batches]:
        return None
    flat = flat.reshape(-1)
    if flat.dtype != object:
        return pa.array(flat)
    values = flat.tolist()
    kinds = set(map(type, values))
    if kinds == {str}:
        return pa.array(values, type=pa.string())
    if kinds != {bytes}:
        return None
    try:
        return pa.array(values, type=pa.binary()).cast(pa.string())
    except pa.ArrowInvalid:  # not UTF-8: decoded with replacement characters below
        return None


def _concat(parts: list[Any], rows: int) -> pa.Array:
    if parts and all(isinstance(p, np.ndarray) and p.dtype != object for p in parts):
        return pa.array(np.concatenate(parts))
    flat: list[Any] = []
    for p in parts:
        flat.extend(p.tolist() if isinstance(p, np.ndarray) else p)
    return pa.array(flat)


def _write_index(f: _File) -> None:
    import pyarrow.parquet as pq

    _compact(f)
    if f.examples_only or f.index_failed or not f.chunks:
        return  # classify/regress logs: read from the records
    table = (pa.concat_tables(f.chunks, promote_options="permissive") if len(f.chunks) > 1
             else f.chunks[0])
    table = table.replace_schema_metadata(
        {"tfrecord_bytes": str(_size(f.path)), "records": str(f.records)})
    tmp = _index_path(f.path).with_suffix(".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, _index_path(f.path))
