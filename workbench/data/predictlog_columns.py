"""The columns of predict logs, vectorised: a chunk of ``PredictionLog`` records (byte ranges
of one buffer) into the logged inputs, one row per instance, with the wire-format parser of
:mod:`workbench.data.wire`.

Layer by layer: ``PredictionLog`` → ``LogMetadata`` (time) → ``ModelSpec`` (model, version,
signature), and ``PredictLog`` → ``PredictRequest`` → its ``inputs`` map entries. Each input's
tensors are then read one of two ways:

* alike (the common case: what a server logs for one client): every tensor of the input has
  the bytes of the first one up to its values (dtype, shape, field order), which is parsed and
  then compared with the others in a few word loads; the values are cut out in one gather;
* general: every ``TensorProto`` parsed field by field (dtype, shape, ``tensor_content``, packed
  ``float_val``/``double_val``, ``string_val``), any batch size per request, inputs missing
  from some requests.

Anything else — classify/regress logs, 0-d or multi-column inputs, varint-packed integers,
one-value broadcasts — raises :class:`~workbench.data.wire.Irregular`, and the caller decodes
the chunk with the protobuf classes (:mod:`workbench.data.predictionlog`), which define the
result; a test compares the paths.
"""

from __future__ import annotations

import collections

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.data.wire import (
    Fields,
    Irregular,
    fields,
    gather,
    map_entries,
    one,
    same_head,
    strings,
    text,
    varint,
    varint_bytes,
)

__all__ = ["is_prediction_log", "predict_columns", "value_counts"]

# field numbers (tensorflow_serving/apis/*.proto, tensorflow/core/framework/*.proto; a test
# checks them against the descriptors)
LOG_METADATA, CLASSIFY_LOG, REGRESS_LOG, PREDICT_LOG = 1, 2, 3, 6  # PredictionLog
META_SPEC, META_TIME = 1, 4  # LogMetadata
SPEC_NAME, SPEC_VERSION, SPEC_SIGNATURE = 1, 2, 3  # ModelSpec (version: Int64Value.value 1)
PREDICT_REQUEST = 1  # PredictLog
REQUEST_INPUTS = 2  # PredictRequest (map entries: key 1, value 2)
T_DTYPE, T_SHAPE, T_CONTENT, T_FLOAT, T_DOUBLE, T_STRING = 1, 2, 4, 5, 6, 8
SHAPE_DIM, DIM_SIZE = 2, 1
# DataType: the dtypes read from tensor_content
DT_STRING = 7
NUMPY = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_}
PACKED = {T_FLOAT: 1, T_DOUBLE: 2}  # packed fixed-width *_val fields and their dtype


def is_prediction_log(record: bytes) -> bool:
    """Whether a record parses as a ``PredictionLog`` holding metadata and one log (read
    with the wire-format parser below: no TensorFlow import)."""
    buf = np.frombuffer(record, dtype=np.uint8)
    try:
        top = fields(buf, np.array([0]), np.array([buf.size]))
        numbers = set((top.tag >> 3).tolist())
        wires = set((top.tag & 7).tolist())
        if wires != {2} or LOG_METADATA not in numbers or not numbers - {LOG_METADATA} \
                or not numbers <= {LOG_METADATA, *range(CLASSIFY_LOG, 8)}:
            return False
        meta = top.of(LOG_METADATA)
        inner = fields(buf, meta.start[:1], meta.end[:1])
    except Irregular:
        return False
    return bool(np.any(inner.tag == (META_SPEC << 3 | 2)))


def predict_columns(buf: np.ndarray, bounds: np.ndarray, model: str | None,
                       since: float | None, other: collections.Counter[str]
                       ) -> tuple[pa.Table | None, int]:
    records = len(bounds)
    top = fields(buf, bounds[:, 0], bounds[:, 1])
    if np.any(np.isin(top.tag >> 3, (CLASSIFY_LOG, REGRESS_LOG))):
        raise Irregular("classify or regress logs")
    has_meta, m_start, m_end = one(top, records, LOG_METADATA)
    is_predict, p_start, p_end = one(top, records, PREDICT_LOG)
    if not np.all(is_predict & has_meta):
        raise Irregular("records that are not predict logs with metadata")
    meta = fields(buf, m_start, m_end)
    _, s_start, s_end = one(meta, records, META_SPEC)
    stamps = np.zeros(records, np.int64)
    got = meta.of(META_TIME, 0)
    stamps[got.msg] = got.value
    spec = fields(buf, s_start, s_end)
    names = text(buf, *one(spec, records, SPEC_NAME)[1:])
    signatures = text(buf, *one(spec, records, SPEC_SIGNATURE)[1:])
    has_version, v_start, v_end = one(spec, records, SPEC_VERSION)
    versions = np.zeros(records, np.int64)
    if has_version.any():
        wrapped = fields(buf, v_start, v_end).of(1, 0)
        versions[wrapped.msg] = wrapped.value

    keep = np.ones(records, bool)
    if model:
        named = pc.fill_null(pc.not_equal(names, ""), False).to_numpy(zero_copy_only=False)
        mine = pc.equal(names, model).to_numpy(zero_copy_only=False)
        left = named & ~mine
        if left.any():
            for m, n in zip(*value_counts(pa.chunked_array([names.filter(pa.array(left))])),
                            strict=True):
                other[m] += n
        keep &= ~left
    if since is not None:
        keep &= stamps >= int(since)
    rec = np.flatnonzero(keep)
    if not rec.size:
        return None, 0

    plog = fields(buf, p_start[rec], p_end[rec])
    _, r_start, r_end = one(plog, rec.size, PREDICT_REQUEST)
    request = fields(buf, r_start, r_end).of(REQUEST_INPUTS)
    got_entries = map_entries(buf, request.start, request.end)
    if got_entries is None:
        entries = fields(buf, request.start, request.end)
        key_present, k_start, k_end = one(entries, request.msg.size, 1)
        has_value, t_start, t_end = one(entries, request.msg.size, 2)
        if not np.all(key_present & has_value):
            raise Irregular("an input without a name or a tensor")
    else:
        k_start, k_end, t_start, t_end = got_entries
    owner = request.msg  # the (kept) record of each input
    same = _same_keys(buf, k_start, k_end, owner, rec.size)
    if same is not None:
        key_of, key_names = same
    else:
        keys = strings(buf, k_start, k_end).dictionary_encode()
        key_of = keys.indices.to_numpy(zero_copy_only=False)
        key_names = keys.dictionary.to_pylist()

    got_alike = _inputs_alike(buf, t_start, t_end, key_of, key_names, owner, rec.size)
    columns, n = got_alike if got_alike is not None else _inputs(
        buf, t_start, t_end, key_of, key_names, owner, rec.size)

    rep = np.repeat(rec, n)
    columns["__model"] = names.take(pa.array(rep))
    columns["__version"] = pa.array(versions[rep])
    columns["__signature"] = signatures.take(pa.array(rep))
    columns["__timestamp"] = pa.array(stamps[rep])
    return pa.table(columns), int(rec.size)


def _same_keys(buf: np.ndarray, k_start: np.ndarray, k_end: np.ndarray, owner: np.ndarray,
               records: int) -> tuple[np.ndarray, list[str]] | None:
    """The inputs' names when every request names the same inputs in the same order (what
    one client sends): the k-th entries of all requests are compared with the first
    request's k-th, in word loads, instead of building a string per entry. (entry → name
    index, names), or None."""
    if not records or owner.size % records:
        return None
    per = owner.size // records
    # entries come position by position, each position's in record order (wire.Fields)
    if not np.array_equal(owner.reshape(per, records),
                          np.broadcast_to(np.arange(records), (per, records))):
        return None
    starts, ends = k_start.reshape(per, records), k_end.reshape(per, records)
    names = []
    for j in range(per):
        first = buf[starts[j, 0]:ends[j, 0]].tobytes()
        if not same_head(buf, starts[j], ends[j], first) or np.any(
                ends[j] - starts[j] != len(first)):
            return None
        try:
            names.append(first.decode("utf-8"))
        except UnicodeDecodeError:
            return None
    if len(set(names)) != per:
        return None
    return np.repeat(np.arange(per), records), names


def _inputs(buf: np.ndarray, t_start: np.ndarray, t_end: np.ndarray, key_of: np.ndarray,
            key_names: list[str], owner: np.ndarray, records: int
            ) -> tuple[dict[str, pa.Array], np.ndarray]:
    """The input columns, every ``TensorProto`` parsed field by field, and the instances of
    each record."""
    tensors = fields(buf, t_start, t_end)
    ntensors = t_start.size
    known = (T_DTYPE, T_SHAPE, T_CONTENT, T_FLOAT, T_DOUBLE, T_STRING)
    if np.any(tensors.others(known)):
        raise Irregular("tensor fields other than dtype, shape, content, floats, strings")
    dtype = np.zeros(ntensors, np.int64)
    got = tensors.of(T_DTYPE, 0)
    dtype[got.msg] = got.value
    _, sh_start, sh_end = one(tensors, ntensors, T_SHAPE)
    dims = fields(buf, sh_start, sh_end)
    if np.any(dims.others((SHAPE_DIM,))):
        raise Irregular("a shape of unknown rank")
    dims = dims.of(SHAPE_DIM)
    sizes = fields(buf, dims.start, dims.end)
    if np.any(sizes.others((DIM_SIZE,))):
        raise Irregular("named dimensions")
    dim_size = np.zeros(dims.msg.size, np.int64)
    got = sizes.of(DIM_SIZE, 0)
    dim_size[got.msg] = got.value
    rank = np.bincount(dims.msg, minlength=ntensors)
    first = np.zeros(ntensors, np.int64)
    second = np.ones(ntensors, np.int64)
    first[dims.msg[dims.step == 0]] = dim_size[dims.step == 0]
    second[dims.msg[dims.step == 1]] = dim_size[dims.step == 1]
    if np.any((rank < 1) | (rank > 2) | ((rank == 2) & (second != 1))):
        raise Irregular("inputs that are not one value per instance")

    # instances per record: the first dimension, the same for every input of a record
    n = np.full(records, -1, np.int64)
    n[owner] = first
    if np.any(n[owner] != first) or np.any(n < 0):
        raise Irregular("inputs of one request with different batch sizes, or none")
    row_start = np.zeros(records + 1, np.int64)
    np.cumsum(n, out=row_start[1:])
    rows = int(row_start[-1])

    columns: dict[str, pa.Array] = {}
    content = tensors.of(T_CONTENT)
    string_fields = tensors.of(T_STRING)
    packed = {number: tensors.of(number) for number in PACKED}
    for k, name in enumerate(key_names):
        mine_t = np.flatnonzero(key_of == k)
        recs = owner[mine_t]
        if recs.size and int(np.bincount(recs).max()) > 1:
            raise Irregular(f"input '{name}' twice in one request")
        order = np.argsort(recs, kind="stable")
        mine_t, recs = mine_t[order], recs[order]
        kinds = dtype[mine_t]
        kind = int(kinds[0])
        if np.any(kinds != kind):
            raise Irregular(f"input '{name}' logged with several dtypes")
        want = n[recs]
        rank_of = np.full(ntensors, -1, np.int64)
        rank_of[mine_t] = np.arange(mine_t.size)
        if kind == DT_STRING:
            values = _string_values(buf, string_fields, rank_of, want)
        elif kind in NUMPY:
            values = _numeric_values(buf, content, packed, rank_of, want, kind)
        else:
            raise Irregular(f"input '{name}' of dtype {kind}")
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
        if tag == T_STRING and dtype == DT_STRING and batch == 1:
            if not same_head(buf, start, end, header, len(header) + 1):
                return None
            length, at = varint(buf, start + len(header))
            if np.any(at + length != end):
                return None
            columns[name] = strings(buf, at, end)
        elif tag == T_CONTENT and dtype in NUMPY:
            np_type = np.dtype(NUMPY[dtype]).newbyteorder("<")
            width = int(end[0] - start[0]) - len(header)
            if width != batch * np_type.itemsize:
                return None
            if np.any(end - start != end[0] - start[0]) or not same_head(buf, start, end,
                                                                         header):
                return None
            data, _ = gather(buf, end - width, end)
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
    tensor = fields(buf, np.array([start]), np.array([end]))
    tags = tensor.tag.tolist()
    if len(tags) < 2 or tags[-1] not in (T_CONTENT << 3 | 2, T_STRING << 3 | 2):
        return None
    if sorted(tags[:-1]) != sorted({T_DTYPE << 3, T_SHAPE << 3 | 2} & set(tags[:-1])) \
            or T_SHAPE << 3 | 2 not in tags:
        return None  # fields other than dtype and shape, or one twice
    dtype = int(tensor.start[tags.index(T_DTYPE << 3)]) if T_DTYPE << 3 in tags else 0
    at = tags.index(T_SHAPE << 3 | 2)
    shape = fields(buf, tensor.start[at:at + 1], tensor.end[at:at + 1])
    if np.any(shape.tag != (SHAPE_DIM << 3 | 2)) or not shape.tag.size:
        return None
    sizes = fields(buf, shape.start, shape.end)
    if np.any(sizes.tag != (DIM_SIZE << 3)) or sizes.tag.size != shape.tag.size:
        return None
    dims = sizes.start[np.argsort(sizes.msg, kind="stable")].tolist()
    payload = int(tensor.start[-1])
    if tags[-1] == T_CONTENT << 3 | 2:
        return dtype, dims, buf[start:payload].tobytes(), T_CONTENT
    length = int(tensor.end[-1]) - payload
    tag_at = payload - len(varint_bytes(length)) - 1
    return dtype, dims, buf[start:tag_at + 1].tobytes(), T_STRING


def _string_values(buf: np.ndarray, found: Fields, rank_of: np.ndarray,
                   want: np.ndarray) -> pa.Array:
    """The string values of the tensors ranked by ``rank_of`` (tensor: its place in the
    column, -1: another input's), each tensor's values in their order."""
    of = rank_of[found.msg]
    sel = np.flatnonzero(of >= 0)
    if np.any(np.bincount(of[sel], minlength=want.size) != want):
        raise Irregular("a string input whose values do not match its shape")
    sel = sel[np.argsort(of[sel], kind="stable")]  # by tensor, each in its own order
    return strings(buf, found.start[sel], found.end[sel])


def _numeric_values(buf: np.ndarray, content: Fields, packed: dict[int, Fields],
                    rank_of: np.ndarray, want: np.ndarray, kind: int) -> pa.Array:
    """The values of the numeric tensors ranked by ``rank_of``: ``tensor_content`` or a
    packed fixed-width ``*_val`` field, little-endian as TensorFlow writes them."""
    np_type = np.dtype(NUMPY[kind]).newbyteorder("<")
    sources = [content] + [f for number, f in packed.items() if PACKED[number] == kind]
    start = np.zeros(want.size, np.int64)
    end = np.full(want.size, -1, np.int64)
    for src in sources:
        at = rank_of[src.msg]
        hit = at >= 0
        at = at[hit]
        if np.any(end[at] >= 0):
            raise Irregular("a tensor with its values in two fields")
        start[at] = src.start[hit]
        end[at] = src.end[hit]
    end[end < 0] = start[end < 0]
    if np.any((end - start) != want * np_type.itemsize):
        raise Irregular("a numeric input whose values do not match its shape")
    data, _ = gather(buf, start, end)
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


def value_counts(column: pa.ChunkedArray) -> tuple[list[str], list[int]]:
    counts = pc.value_counts(column)
    return counts.field("values").to_pylist(), counts.field("counts").to_pylist()
