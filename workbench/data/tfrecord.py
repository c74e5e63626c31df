"""TFRecord files of ``tf.train.Example`` (the TFX format) to and from Arrow.

Reading: TensorFlow's own TFRecord reader checks the framing and CRCs; records are parsed in
batches by ``tf.io.parse_example`` (:mod:`workbench.data.tfexample`), and only records a batch
parse cannot vouch for go through the precise per-record parser here, which requires each
record to parse as a ``tf.train.Example`` with no fields an Example does not have. A feature
becomes a scalar column when every example holding it has exactly one value, a list column
otherwise; ``bytes_list`` values become strings when they are UTF-8 text. A feature stored as two
kinds (say int64 in one record and bytes in another) is an error naming the feature and both
records.

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

PARSE_BATCH = 1 << 14  # records per tf.io.parse_example call
READ_BUFFER_BYTES = 4 << 20


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


def _record_batches(path: Path, size: int) -> Iterator[tuple[int, Any]]:
    """The file's records in ``tf.string`` batches of ``size``, with the first record's index.
    Framing damage is located record by record (:func:`_records` names the record)."""
    import tensorflow as tf

    dataset = tf.data.TFRecordDataset(str(path), compression_type=_compression(path),
                                      buffer_size=READ_BUFFER_BYTES).batch(size).prefetch(1)
    batches = iter(dataset)
    start = 0
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except tf.errors.DataLossError as err:
            for _ in _records(path):
                pass
            raise DataError(f"TFRecord file {path} is damaged after record {start}: "
                            f"{err.message}", hint="write the file again",
                            file=str(path)) from err
        yield start, batch
        start += int(batch.shape[0])


def iter_tfrecord_batches(path: str | os.PathLike[str], *,
                          batch_rows: int = 1 << 16) -> Iterator[pa.Table]:
    """The examples of a TFRecord file as Arrow tables of up to ``batch_rows`` rows, parsed
    in batches by TensorFlow (:mod:`workbench.data.tfexample`)."""
    from workbench.data.tfexample import ExampleColumns

    path = Path(path)
    columns = ExampleColumns(path, _parse)
    for start, batch in _record_batches(path, min(batch_rows, PARSE_BATCH)):
        offset = 0
        while offset < batch.shape[0]:
            take = min(int(batch.shape[0]) - offset, batch_rows - columns.rows)
            columns.add(batch[offset:offset + take], start + offset)
            offset += take
            if columns.rows >= batch_rows:
                yield columns.table()
    if columns.rows:
        yield columns.table()
    if columns.slow_records:
        log.info("TFRecord %s: %d records parsed one by one", path.name, columns.slow_records)


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
