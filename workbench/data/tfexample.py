"""Batches of serialized ``tf.train.Example`` records into Arrow columns (TFRecord's fast path).

A batch of records is parsed by TensorFlow's own op, ``tf.io.parse_example`` with one
``RaggedFeature`` per known feature, never record by record in Python. Because a spec only reads
the features it names, three vectorized checks decide whether the parse can be trusted:

* every record is exactly an Example wrapping one ``Features`` message (its length is the
  ``Features``' length plus the field's header), so a ``SequenceExample`` or another proto with
  more top-level fields is caught;
* every record holds as many feature entries as the parse found non-empty features: a record
  with more entries has a feature the spec does not know yet, or one present with no values;
* ``parse_example`` itself raises on records that are not protos and on a feature of another
  type than the spec's.

Only the records failing a check are parsed one by one with the precise parser of
:mod:`workbench.data.tfrecord`, which raises the exact error naming the record, or tells what
the batch parse missed (a new feature extends the spec and the batch is parsed again; a feature
present with no values is an empty list, not a missing value). When ``parse_example`` raises,
the whole batch takes the precise path.

A feature becomes a scalar column when every record holding it has exactly one value, a list
column otherwise; bytes become strings when they are all UTF-8 text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from workbench.errors import DataError

__all__ = ["ExampleColumns"]

log = logging.getLogger(__name__)

KINDS = {"int64_list": "int", "float_list": "float", "bytes_list": "bytes"}
_NUMPY = {"int": np.int64, "float": np.float32, "bytes": object}
_LEARN_RECORDS = 256  # records parsed in Python to learn the first spec

ParseOne = Callable[[bytes, int, Path], Any]  # (record, index, path) -> tf.train.Example


@dataclass
class _Feature:
    """One feature's parsed batches within the current chunk of rows."""

    kind: str
    start: int  # rows of the chunk before the feature was known (it is absent there)
    lengths: list[np.ndarray] = field(default_factory=list)
    present: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)


def _varint_size(n: np.ndarray) -> np.ndarray:
    return 1 + sum((n >= (1 << (7 * k))).astype(np.int64) for k in range(1, 5))


class ExampleColumns:
    """Collects batches of serialized Examples into the Arrow columns of one chunk of rows;
    :meth:`table` returns the chunk and starts the next (the types learnt so far stay)."""

    def __init__(self, path: Path, parse_one: ParseOne) -> None:
        self.path = path
        self.parse_one = parse_one
        self.kinds: dict[str, tuple[str, int]] = {}  # feature: (kind, first record holding it)
        self.features: dict[str, _Feature] = {}
        self.rows = 0
        self.slow_records = 0  # records that took the precise path (for the log)

    # -- adding batches ------------------------------------------------------------------------

    def add(self, serialized: Any, start: int) -> None:
        """Add a batch (a 1-D ``tf.string`` tensor) whose first record has index ``start``."""
        import tensorflow as tf

        if not self.kinds:
            head = serialized[:_LEARN_RECORDS].numpy()
            for i, record in enumerate(head):
                self._learn(self.parse_one(record, start + i, self.path), start + i)
        try:
            parsed = self._parse_fast(serialized, start)
        except tf.errors.InvalidArgumentError:
            parsed = self._parse_slow(serialized.numpy(), start)
        n = int(serialized.shape[0])
        for name, (lengths, present, values) in parsed.items():
            feature = self.features.get(name)
            if feature is None:
                feature = self.features[name] = _Feature(self.kinds[name][0], self.rows)
            feature.lengths.append(lengths)
            feature.present.append(present)
            feature.values.append(values)
        self.rows += n

    def _learn(self, example: Any, index: int) -> list[str]:
        """Check one parsed Example against the known kinds; returns the features it adds."""
        new = []
        for name, feature in example.features.feature.items():
            which = feature.WhichOneof("kind")
            if which is None:
                continue
            kind = KINDS[which]
            seen = self.kinds.get(name)
            if seen is None:
                self.kinds[name] = (kind, index)
                new.append(name)
            elif seen[0] != kind:
                raise DataError(
                    f"feature '{name}' of TFRecord file {self.path} mixes types: "
                    f"{seen[0]} in record {seen[1]}, {kind} in record {index}",
                    hint="a feature must hold one type in every example; fix the writer",
                    file=str(self.path), column=name, row=index)
        return new

    def _parse_fast(self, serialized: Any, start: int
                    ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        import tensorflow as tf

        records: np.ndarray | None = None
        empty: list[tuple[str, int]] = []
        while True:
            spec = {name: tf.io.RaggedFeature(tf.string if kind == "bytes" else
                                              tf.int64 if kind == "int" else tf.float32,
                                              row_splits_dtype=tf.int64)
                    for name, (kind, _) in self.kinds.items()}
            parsed = tf.io.parse_example(serialized, spec)
            lengths = {name: np.diff(t.row_splits.numpy()) for name, t in parsed.items()}
            suspicious = np.flatnonzero(self._unexplained(serialized, lengths))
            if not len(suspicious):
                break
            if records is None:
                records = serialized.numpy()
            self.slow_records += len(suspicious)
            new, empty = [], []
            for row in suspicious:
                example = self.parse_one(records[row], start + int(row), self.path)
                new += self._learn(example, start + int(row))
                empty += [(name, row) for name, f in example.features.feature.items()
                          if f.WhichOneof("kind") and not len(getattr(f, f.WhichOneof("kind"))
                                                              .value)]
            if not new:
                break
            log.info("TFRecord %s: new features from record %d on: %s", self.path.name,
                     start + int(suspicious[0]), ", ".join(new))
        out = {}
        for name, tensor in parsed.items():
            present = lengths[name] > 0
            out[name] = (lengths[name], present, tensor.flat_values.numpy())
        for name, row in empty:
            out[name][1][row] = True
        return out

    @staticmethod
    def _unexplained(serialized: Any, lengths: dict[str, np.ndarray]) -> np.ndarray:
        """Records the batch parse may not have read fully (see the module docstring)."""
        import tensorflow as tf

        outer = tf.io.decode_proto(serialized, "tensorflow.Example", ["features"], [tf.string])
        has = outer.sizes.numpy()[:, 0]
        n = len(has)
        inner = outer.values[0][:, 0] if outer.values[0].shape[1] else tf.fill([n], "")
        entries = tf.io.decode_proto(inner, "tensorflow.Features", ["feature"],
                                     [tf.string]).sizes.numpy()[:, 0]
        size = tf.strings.length(serialized).numpy().astype(np.int64)
        inner_size = tf.strings.length(inner).numpy().astype(np.int64)
        framed = np.where(has > 0, 1 + _varint_size(inner_size) + inner_size, 0)
        found = np.zeros(n, np.int64)
        for length in lengths.values():
            found += length > 0
        return (size != framed) | (has > 1) | (entries != found)

    def _parse_slow(self, records: np.ndarray, start: int
                    ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The precise path: every record parsed and checked in Python."""
        self.slow_records += len(records)
        rows: list[dict[str, list[Any]]] = []
        for i, record in enumerate(records):
            example = self.parse_one(record, start + i, self.path)
            self._learn(example, start + i)
            rows.append({name: list(getattr(f, f.WhichOneof("kind")).value)
                         for name, f in example.features.feature.items()
                         if f.WhichOneof("kind")})
        out = {}
        for name, (kind, _) in self.kinds.items():
            cells = [row.get(name) for row in rows]
            lengths = np.array([len(c) if c is not None else 0 for c in cells], np.int64)
            present = np.array([c is not None for c in cells], bool)
            flat = [v for c in cells if c for v in c]
            out[name] = (lengths, present, np.array(flat, dtype=_NUMPY[kind]))
        return out

    # -- the chunk as a table ------------------------------------------------------------------

    def table(self) -> pa.Table:
        columns = {}
        for name in sorted(self.features):
            feature = self.features[name]
            present = np.concatenate([np.zeros(feature.start, bool), *feature.present])
            if not present.any():
                continue  # absent from every record of this chunk
            lengths = np.concatenate([np.zeros(feature.start, np.int64), *feature.lengths])
            values = np.concatenate(feature.values)
            columns[name] = _column(feature.kind, lengths, present, values)
        self.features, self.rows = {}, 0
        return pa.table(columns)


def _column(kind: str, lengths: np.ndarray, present: np.ndarray,
            values: np.ndarray) -> pa.Array:
    if kind == "bytes":
        flat = pa.array(values, pa.binary())
        try:
            flat = flat.cast(pa.string())
        except pa.ArrowInvalid:
            pass  # not all UTF-8 text: the column stays bytes
    else:
        flat = pa.array(values, pa.int64() if kind == "int" else pa.float32())
    if bool(np.all(lengths[present] == 1)):
        index = np.cumsum(present) - 1
        return flat.take(pa.array(index, mask=~present))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), flat, mask=pa.array(~present))
