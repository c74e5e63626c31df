"""TFRecord files of ``tf.train.Example`` (the TFX format) to and from Arrow.

Reading: TensorFlow's own TFRecord reader checks the framing and CRCs; each record must parse as
a ``tf.train.Example`` with no fields an Example does not have. A feature becomes a scalar column
when every example holding it has exactly one value, a list column otherwise; ``bytes_list``
values become strings when they are UTF-8 text. A feature stored as two kinds (say int64 in one
record and bytes in another) is an error naming the feature and both records.

TensorFlow is imported only when a TFRecord file is read or written.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from workbench.errors import DataError

__all__ = ["iter_tfrecord_batches", "read_tfrecord", "write_tfrecord"]

log = logging.getLogger(__name__)

_KINDS = {"int64_list": "int", "float_list": "float", "bytes_list": "bytes"}


def _compression(path: Path) -> str:
    return "GZIP" if path.name.lower().endswith(".gz") else ""


def _records(path: Path) -> Iterator[tuple[int, bytes]]:
    import tensorflow as tf

    dataset = tf.data.TFRecordDataset(str(path), compression_type=_compression(path))
    index = 0
    try:
        for record in dataset.as_numpy_iterator():
            yield index, record
            index += 1
    except tf.errors.DataLossError as err:
        at = re.search(r"corrupted record at (\d+)", err.message)
        where = f" (byte offset {at.group(1)})" if at else ""
        raise DataError(
            f"TFRecord file {path} is damaged: record {index}{where} is not a valid TFRecord "
            "frame (wrong length or checksum)",
            hint="the file is truncated or not a TFRecord file; write it again "
            "(tf.io.TFRecordWriter)", file=str(path), row=index) from err


def _parse(record: bytes, index: int, path: Path) -> Any:
    from google.protobuf.message import DecodeError
    from google.protobuf.unknown_fields import UnknownFieldSet
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example()
    try:
        example.ParseFromString(record)
    except DecodeError as err:
        raise _not_example(path, index, "it does not parse as one") from err
    if len(UnknownFieldSet(example)) or (record and not example.HasField("features")):
        raise _not_example(path, index, "it holds fields a tf.train.Example does not have")
    for name, feature in example.features.feature.items():
        if len(UnknownFieldSet(feature)):
            raise _not_example(path, index, f"its feature '{name}' is not a tf.train.Feature")
    return example


def _not_example(path: Path, index: int, why: str) -> DataError:
    return DataError(
        f"record {index} of TFRecord file {path} is not a tf.train.Example: {why}",
        hint="the workbench reads TFRecord files of serialized tf.train.Example protos (the TFX "
        "format); SequenceExamples and other protos are not supported", file=str(path),
        row=index)


class _Columns:
    """Collects the features of a run of examples into Arrow columns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.values: dict[str, list[Any]] = {}
        self.kinds: dict[str, tuple[str, int]] = {}
        self.rows = 0

    def add(self, example: Any, index: int) -> None:
        for name, feature in example.features.feature.items():
            which = feature.WhichOneof("kind")
            if which is None:
                continue
            kind = _KINDS[which]
            seen = self.kinds.get(name)
            if seen is None:
                self.kinds[name] = (kind, index)
                self.values[name] = [None] * self.rows
            elif seen[0] != kind:
                raise DataError(
                    f"feature '{name}' of TFRecord file {self.path} mixes types: "
                    f"{seen[0]} in record {seen[1]}, {kind} in record {index}",
                    hint="a feature must hold one type in every example; fix the writer",
                    file=str(self.path), column=name, row=index)
            self.values[name].append(list(getattr(feature, which).value))
        self.rows += 1
        for column in self.values.values():
            if len(column) < self.rows:
                column.append(None)

    def table(self) -> pa.Table:
        columns = {}
        for name, rows in sorted(self.values.items()):
            kind = self.kinds[name][0]
            present = [r for r in rows if r is not None]
            scalar = all(len(r) == 1 for r in present)
            if kind == "bytes":
                rows, kind = _decode(rows)
            arrow = {"int": pa.int64(), "float": pa.float32(), "string": pa.string(),
                     "bytes": pa.binary()}[kind]
            if scalar:
                columns[name] = pa.array([None if r is None else r[0] for r in rows],
                                         type=arrow)
            else:
                columns[name] = pa.array(rows, type=pa.list_(arrow))
        self.values, self.kinds, self.rows = {}, {}, 0
        return pa.table(columns)


def _decode(rows: list[Any]) -> tuple[list[Any], str]:
    try:
        return [None if r is None else [v.decode("utf-8") for v in r] for r in rows], "string"
    except UnicodeDecodeError:
        return rows, "bytes"


def iter_tfrecord_batches(path: str | os.PathLike[str], *,
                          batch_rows: int = 1 << 16) -> Iterator[pa.Table]:
    """The examples of a TFRecord file as Arrow tables of up to ``batch_rows`` rows."""
    path = Path(path)
    columns = _Columns(path)
    for index, record in _records(path):
        columns.add(_parse(record, index, path), index)
        if columns.rows >= batch_rows:
            yield columns.table()
    if columns.rows:
        yield columns.table()


def read_tfrecord(path: str | os.PathLike[str]) -> pa.Table:
    """All examples of a TFRecord file as one Arrow table (columns unified across batches)."""
    tables = list(iter_tfrecord_batches(path, batch_rows=1 << 62))
    if not tables:
        return pa.table({})
    return tables[0]


def _feature(value: Any, kind: str) -> Any:
    from tensorflow.core.example import feature_pb2

    feature = feature_pb2.Feature()
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    if kind == "int":
        feature.int64_list.value.extend(int(v) for v in values)
    elif kind == "float":
        feature.float_list.value.extend(float(v) for v in values)
    else:
        feature.bytes_list.value.extend(v.encode("utf-8") if isinstance(v, str) else v
                                        for v in values)
    return feature


def write_tfrecord(table: pa.Table, path: str | os.PathLike[str]) -> Path:
    """Write each row of ``table`` as a ``tf.train.Example`` (null cells are left out)."""
    import tensorflow as tf
    from tensorflow.core.example import example_pb2

    from workbench.data.partial import kind_of

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kinds = {}
    for field in table.schema:
        kind = kind_of(field.type)
        if kind is None:
            raise DataError(f"column '{field.name}' ({field.type}) cannot be written to a "
                            "tf.train.Example", column=field.name)
        kinds[field.name] = kind
    options = tf.io.TFRecordOptions(compression_type=_compression(path))
    with tf.io.TFRecordWriter(str(path), options) as writer:
        for row in table.to_pylist():
            example = example_pb2.Example()
            for name, value in row.items():
                feature = _feature(value, kinds[name])
                if feature is not None:
                    example.features.feature[name].CopyFrom(feature)
            writer.write(example.SerializeToString(deterministic=True))
    return path
